package repo

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInitOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	r, err := Init(dir, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{KeyFile, TokenFile, ConfigFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	r2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r2.ID != r.ID || r2.Token != r.Token || r2.ID == "" {
		t.Fatalf("reopened identity %s token %q, want %s %q", r2.ID, r2.Token, r.ID, r.Token)
	}
	if _, err := Init(dir, DefaultConfig(), nil); !errors.Is(err, ErrExists) {
		t.Fatalf("second Init: %v, want ErrExists", err)
	}
}

func TestInitDeterministicWithReader(t *testing.T) {
	seed := int64(42)
	t.Logf("seed %d", seed)
	a, err := Init(filepath.Join(t.TempDir(), "a"), DefaultConfig(), rand.New(rand.NewSource(seed)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Init(filepath.Join(t.TempDir(), "b"), DefaultConfig(), rand.New(rand.NewSource(seed)))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || a.Token != b.Token {
		t.Fatal("same random source gave different identities")
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Open of empty dir: %v", err)
	}
}

func TestAPIFile(t *testing.T) {
	dir := t.TempDir()
	r, err := Init(dir, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAPI(dir); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("ReadAPI before write: %v", err)
	}
	if err := r.WriteAPI("127.0.0.1:1234"); err != nil {
		t.Fatal(err)
	}
	got, err := ReadAPI(dir)
	if err != nil || got != "127.0.0.1:1234" {
		t.Fatalf("ReadAPI = %q, %v", got, err)
	}
	// The file holds exactly HOST:PORT, so that scripts can use it as is.
	if raw, _ := os.ReadFile(filepath.Join(dir, APIFile)); string(raw) != "127.0.0.1:1234" {
		t.Fatalf("REPO/api holds %q", raw)
	}
	if err := r.RemoveAPI(); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveAPI(); err != nil {
		t.Fatalf("second RemoveAPI: %v", err)
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir, DefaultConfig(), nil); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"garbled":  "{not json",
		"unknown":  `{"listen":["/ip4/127.0.0.1/tcp/0"],"colour":"red"}`,
		"badmode":  `{"mode":"boss"}`,
		"publicap": `{"api":"0.0.0.0:5151"}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir); err == nil {
			t.Errorf("%s: Open accepted %s", name, body)
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"default", func(*Config) {}, ""},
		{"no listen", func(c *Config) { c.Listen = nil }, "listen"},
		{"bad listen", func(c *Config) { c.Listen = []string{"tcp:4001"} }, "listen"},
		{"bootstrap without p2p", func(c *Config) { c.Bootstrap = []string{"/ip4/1.2.3.4/tcp/1"} }, "/p2p/"},
		{"public api", func(c *Config) { c.API = "0.0.0.0:5151" }, "loopback"},
		{"api localhost", func(c *Config) { c.API = "localhost:0" }, ""},
		{"api v6", func(c *Config) { c.API = "[::1]:0" }, ""},
		{"mode", func(c *Config) { c.Mode = "x" }, "mode"},
		{"cidr", func(c *Config) { c.PublicCIDRs = []string{"198.18.0.0"} }, "CIDR"},
		{"tick", func(c *Config) { c.Tick = 0 }, "tick"},
		{"republish", func(c *Config) { c.Republish = c.RecordTTL }, "republish"},
		{"workers", func(c *Config) { c.IndexWorkers = 0 }, "index_workers"},
		{"batch", func(c *Config) { c.PublishBatch = 0 }, "publish_batch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestDefaultPath(t *testing.T) {
	p, err := DefaultPath(func(string) string { return "/x/y" })
	if err != nil || p != "/x/y" {
		t.Fatalf("env: %q %v", p, err)
	}
	p, err = DefaultPath(func(string) string { return "" })
	if err != nil || filepath.Base(p) != ".kwnode" {
		t.Fatalf("home: %q %v", p, err)
	}
}
