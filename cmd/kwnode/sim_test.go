package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestSimCommandUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"unknown flag", []string{"sim", "--bogus"}, 2},
		{"bad number", []string{"sim", "--nodes", "x"}, 2},
		{"fail out of range", []string{"sim", "--fail", "1.5"}, 2},
		{"zero nodes", []string{"sim", "--nodes", "0"}, 2},
		{"churn and session", []string{"sim", "--churn", "1", "--session", "1h"}, 2},
		{"stray argument", []string{"sim", "extra"}, 2},
		{"unknown command", []string{"bogus"}, 2},
		{"version", []string{"version"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tc.args, strings.NewReader(""), &out, &errb); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errb.String())
			}
			if tc.code != 0 && strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
				t.Fatalf("error is not one line: %q", errb.String())
			}
		})
	}
}

func TestSimCommandJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"sim", "--nodes", "30", "--lookups", "200", "--fail", "0.2", "--seed", "5", "--json"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out.String())
	}
	for _, k := range []string{"nodes", "lookups", "mean_hops", "p50_hops", "p99_hops", "failed_lookups", "ring_correct", "records_lost", "seed", "elapsed_s", "messages"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, out.String())
		}
	}
	if m["nodes"] != float64(30) || m["seed"] != float64(5) {
		t.Fatalf("nodes/seed not echoed: %s", out.String())
	}
	if _, ok := m["ring_correct"].(bool); !ok {
		t.Fatalf("ring_correct is not a bool: %s", out.String())
	}
}

func TestSimCommandTable(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"sim", "--nodes", "20", "--lookups", "50"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, w := range []string{"hops", "failed lookups", "ring", "records"} {
		if !strings.Contains(out.String(), w) {
			t.Fatalf("table lacks %q:\n%s", w, out.String())
		}
	}
}
