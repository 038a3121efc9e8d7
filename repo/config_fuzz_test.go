package repo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzOpenConfig: config.json is edited by hand and may hold anything.
// Open either refuses it with a repo error or returns a configuration that
// validates and survives SaveConfig and a second Open unchanged.
func FuzzOpenConfig(f *testing.F) {
	src := filepath.Join(f.TempDir(), "r")
	if _, err := Init(src, DefaultConfig(), nil); err != nil {
		f.Fatal(err)
	}
	def, err := json.Marshal(DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(def),
		`{}`,
		`{"mode":"client","tick":"250ms"}`,
		`{"api":"0.0.0.0:5151"}`,
		`{"tick":"-1s"}`,
		`{"tick":5}`,
		`{"listen":["/ip4/1.2.3.4/tcp/1"],"bootstrap":["/ip4/1.2.3.4/tcp/1"]}`,
		`{"public_cidrs":["10.0.0.0/8","x"]}`,
		`{"unknown":1}`,
		`{"index_workers":1e999}`,
		`null`, `[]`, ``, "\xff",
	} {
		f.Add([]byte(s))
	}
	key, err := os.ReadFile(filepath.Join(src, KeyFile))
	if err != nil {
		f.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join(src, TokenFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		for name, data := range map[string][]byte{KeyFile: key, TokenFile: tok, ConfigFile: b} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		r, err := Open(dir)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "repo: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		if err := r.Config.Validate(); err != nil {
			t.Fatalf("Open accepted an invalid config: %v", err)
		}
		if err := r.SaveConfig(); err != nil {
			t.Fatalf("saving an accepted config: %v", err)
		}
		r2, err := Open(dir)
		if err != nil {
			t.Fatalf("reopening a saved config: %v", err)
		}
		if !reflect.DeepEqual(r.Config, r2.Config) {
			t.Fatalf("config changed by save and reopen:\n%+v\n%+v", r.Config, r2.Config)
		}
	})
}
