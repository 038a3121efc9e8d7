package keyword

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"

	"kwsearch/chordrouting"
)

// Seal signs r with the publisher's key and returns the envelope bytes
// that the ring stores. The key must be r.Publisher's.
func Seal(r *Record, key crypto.PrivKey) ([]byte, error) {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("keyword: sealing record: %w", err)
	}
	if id != r.Publisher {
		return nil, fmt.Errorf("keyword: sealing record: %w", ErrWrongSigner)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("keyword: sealing record: %w", err)
	}
	env, err := record.Seal(r, key)
	if err != nil {
		return nil, fmt.Errorf("keyword: sealing record: %w", err)
	}
	b, err := env.Marshal()
	if err != nil {
		return nil, fmt.Errorf("keyword: sealing record: %w", err)
	}
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("keyword: sealing record: %w (%d bytes)", ErrTooLarge, len(b))
	}
	return b, nil
}

// Open checks a signed record whatever the time: size, signature, payload
// type, that the signer is the publisher it names, and the payload's own
// rules. Validator.Validate adds the checks that need a key and a time.
func Open(data []byte) (*Record, error) {
	if len(data) > MaxRecordSize {
		return nil, ErrTooLarge
	}
	r := &Record{}
	env, err := record.ConsumeTypedEnvelope(data, r)
	if err != nil {
		if errors.Is(err, ErrMalformed) || errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if !bytes.Equal(env.PayloadType, recordCodec) {
		return nil, fmt.Errorf("%w: payload type %q", ErrMalformed, env.PayloadType)
	}
	signer, err := peer.IDFromPublicKey(env.PublicKey)
	if err != nil || signer != r.Publisher {
		return nil, ErrWrongSigner
	}
	return r, nil
}

// ValidatorConfig bounds the records a ring node accepts.
type ValidatorConfig struct {
	// MaxTTL is the longest a record may live (Expires - Published).
	// 48h: twice the default 24h expiry, so a publisher may choose longer
	// lifetimes, but a record never outlives its publisher by days.
	MaxTTL time.Duration
	// MaxClockSkew is how far ahead of the local clock a publish time may
	// be. 10m tolerates badly set clocks without letting a record claim a
	// far-future version that no republish could replace.
	MaxClockSkew time.Duration
}

// DefaultValidatorConfig returns the bounds the network uses.
func DefaultValidatorConfig() ValidatorConfig {
	return ValidatorConfig{MaxTTL: 48 * time.Hour, MaxClockSkew: 10 * time.Minute}
}

// Validate reports a configuration error.
func (c ValidatorConfig) Validate() error {
	if c.MaxTTL <= 0 {
		return errors.New("keyword: ValidatorConfig.MaxTTL must be positive")
	}
	if c.MaxClockSkew < 0 || c.MaxClockSkew > c.MaxTTL {
		return errors.New("keyword: ValidatorConfig.MaxClockSkew must be in [0, MaxTTL]")
	}
	return nil
}

// Validator is the chordrouting.Validator of kwsearch records. It is
// stateless and safe for concurrent use.
type Validator struct {
	cfg ValidatorConfig
}

var _ chordrouting.Validator = (*Validator)(nil)

// NewValidator returns a validator with the given bounds.
func NewValidator(cfg ValidatorConfig) (*Validator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Validator{cfg: cfg}, nil
}

// Validate implements chordrouting.Validator: it accepts value under key at
// now only if Open accepts it, key is the record's own key, and its times
// are within bounds.
func (v *Validator) Validate(key chordrouting.ID, value []byte, now time.Time) (chordrouting.ValueInfo, error) {
	r, err := v.open(key, value, now)
	if err != nil {
		return chordrouting.ValueInfo{}, err
	}
	return chordrouting.ValueInfo{
		Identity:  r.Identity(),
		Version:   r.Published.UnixNano(),
		Expiry:    r.Expires,
		Publisher: r.Publisher.String(),
		Removal:   r.Kind == KindRemoval,
	}, nil
}

// open is Validate returning the record.
func (v *Validator) open(key chordrouting.ID, value []byte, now time.Time) (*Record, error) {
	r, err := Open(value)
	if err != nil {
		return nil, err
	}
	if r.Key() != key {
		return nil, ErrWrongKey
	}
	if err := v.checkTimes(r, now); err != nil {
		return nil, err
	}
	return r, nil
}

func (v *Validator) checkTimes(r *Record, now time.Time) error {
	switch {
	case !r.Expires.After(now):
		return ErrExpired
	case r.Published.After(now.Add(v.cfg.MaxClockSkew)):
		return fmt.Errorf("%w: published %v ahead", ErrTooFarAhead, r.Published.Sub(now))
	case r.Expires.Sub(r.Published) > v.cfg.MaxTTL:
		return fmt.Errorf("%w: lives %v, more than %v", ErrTooFarAhead, r.Expires.Sub(r.Published), v.cfg.MaxTTL)
	}
	return nil
}

// Match implements chordrouting.Validator: see Query.Match. Stored values
// were validated when they were stored, so Match only decodes them.
func (v *Validator) Match(key chordrouting.ID, query []byte, value []byte) bool {
	if len(query) == 0 {
		return true
	}
	q, err := DecodeQuery(query)
	if err != nil {
		return false
	}
	payload, err := envelopePayload(value)
	if err != nil {
		return false
	}
	r, err := matchFields(payload)
	if err != nil {
		return false
	}
	return q.Match(r)
}
