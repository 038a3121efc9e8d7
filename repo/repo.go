package repo

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// File names inside a repository.
const (
	ConfigFile = "config.json"
	KeyFile    = "identity.key"
	TokenFile  = "api.token"
	APIFile    = "api"
	DBFile     = "kwnode.db"
)

// EnvRepo is the environment variable that names the repository folder.
const EnvRepo = "KWNODE_REPO"

// maxFileSize bounds what Open reads from any repository file.
const maxFileSize = 1 << 20

// Errors callers can test with errors.Is.
var (
	ErrExists         = errors.New("repo: repository already exists")
	ErrNotInitialized = errors.New("repo: no repository")
	ErrNoDaemon       = errors.New("repo: no daemon is running")
)

// Repo is an opened repository.
type Repo struct {
	Path   string
	Config Config
	Key    crypto.PrivKey
	ID     peer.ID
	Token  string
}

// DefaultPath returns the repository folder to use when --repo is not
// given: $KWNODE_REPO, else ~/.kwnode.
func DefaultPath(getenv func(string) string) (string, error) {
	if p := getenv(EnvRepo); p != "" {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("repo: finding the home folder (set --repo or %s): %w", EnvRepo, err)
	}
	return filepath.Join(home, ".kwnode"), nil
}

// Exists reports whether path holds an initialized repository.
func Exists(path string) bool {
	_, err := os.Stat(filepath.Join(path, ConfigFile))
	return err == nil
}

// Init creates a repository at path with cfg, a fresh identity and API token
// drawn from rnd (crypto/rand.Reader when nil). It fails with ErrExists if
// path already holds a repository.
func Init(path string, cfg Config, rnd io.Reader) (*Repo, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, f := range []string{ConfigFile, KeyFile} {
		if _, err := os.Stat(filepath.Join(path, f)); err == nil {
			return nil, fmt.Errorf("%w at %s", ErrExists, path)
		}
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("repo: creating %s: %w", path, err)
	}
	key, _, err := crypto.GenerateEd25519Key(rnd)
	if err != nil {
		return nil, fmt.Errorf("repo: generating identity: %w", err)
	}
	keyBytes, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("repo: encoding identity: %w", err)
	}
	tok := make([]byte, 32)
	if _, err := io.ReadFull(rnd, tok); err != nil {
		return nil, fmt.Errorf("repo: generating API token: %w", err)
	}
	if err := writeAtomic(filepath.Join(path, KeyFile), keyBytes, 0o600); err != nil {
		return nil, err
	}
	if err := writeAtomic(filepath.Join(path, TokenFile), []byte(hex.EncodeToString(tok)+"\n"), 0o600); err != nil {
		return nil, err
	}
	// The config is written last: its presence marks a complete repository.
	if err := writeConfig(path, cfg); err != nil {
		return nil, err
	}
	return Open(path)
}

// Open reads the repository at path.
func Open(path string) (*Repo, error) {
	if !Exists(path) {
		return nil, fmt.Errorf("%w at %s (run `kwnode init` or `kwnode daemon`)", ErrNotInitialized, path)
	}
	r := &Repo{Path: path}
	b, err := readSmall(filepath.Join(path, ConfigFile))
	if err != nil {
		return nil, err
	}
	r.Config = DefaultConfig()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r.Config); err != nil {
		return nil, fmt.Errorf("repo: reading %s: %w", ConfigFile, err)
	}
	if err := r.Config.Validate(); err != nil {
		return nil, err
	}
	if r.Key, r.ID, err = readKey(path); err != nil {
		return nil, err
	}
	if r.Token, err = ReadToken(path); err != nil {
		return nil, err
	}
	return r, nil
}

func readKey(path string) (crypto.PrivKey, peer.ID, error) {
	b, err := readSmall(filepath.Join(path, KeyFile))
	if err != nil {
		return nil, "", err
	}
	key, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, "", fmt.Errorf("repo: reading %s: %w", KeyFile, err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, "", fmt.Errorf("repo: deriving peer ID: %w", err)
	}
	return key, id, nil
}

// ReadToken returns the API token of the repository at path.
func ReadToken(path string) (string, error) {
	b, err := readSmall(filepath.Join(path, TokenFile))
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 32 {
		return "", fmt.Errorf("repo: %s is too short to be a token", TokenFile)
	}
	return tok, nil
}

// ReadAPI returns the API address a running daemon wrote, or an error
// wrapping ErrNoDaemon when there is none.
func ReadAPI(path string) (string, error) {
	b, err := readSmall(filepath.Join(path, APIFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w for repository %s (start one with `kwnode daemon`)", ErrNoDaemon, path)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// SaveConfig writes r.Config to disk after validating it.
func (r *Repo) SaveConfig() error {
	if err := r.Config.Validate(); err != nil {
		return err
	}
	return writeConfig(r.Path, r.Config)
}

// DBPath is where the node's database lives.
func (r *Repo) DBPath() string { return filepath.Join(r.Path, DBFile) }

// WriteAPI records the running daemon's API address.
func (r *Repo) WriteAPI(addr string) error {
	return writeAtomic(filepath.Join(r.Path, APIFile), []byte(addr), 0o600)
}

// RemoveAPI deletes the API address file (on a clean exit).
func (r *Repo) RemoveAPI() error {
	err := os.Remove(filepath.Join(r.Path, APIFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("repo: removing %s: %w", APIFile, err)
	}
	return nil
}

func writeConfig(path string, cfg Config) error {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("repo: encoding config: %w", err)
	}
	return writeAtomic(filepath.Join(path, ConfigFile), append(b, '\n'), 0o600)
}

func readSmall(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("repo: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("repo: reading %s: %w", name, err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("repo: %s is larger than %d bytes", name, maxFileSize)
	}
	return b, nil
}

// writeAtomic writes b to name through a temporary file, fsync and rename.
func writeAtomic(name string, b []byte, mode os.FileMode) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return fmt.Errorf("repo: writing %s: %w", name, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("repo: writing %s: %w", name, err)
	}
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("repo: writing %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("repo: writing %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("repo: writing %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("repo: writing %s: %w", name, err)
	}
	ok = true
	return nil
}
