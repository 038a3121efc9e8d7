package integration

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var (
	crashIterations = flag.Int("crash.iterations", 20, "kill -9 rounds in TestCrashKill9")
	crashSeed       = flag.Uint64("crash.seed", 0, "seed of TestCrashKill9 (0: from the clock)")
)

// TestCrashKill9 kills a daemon with SIGKILL at random points while it
// shares files, downloads a file and stores ring records for a neighbour,
// restarts it, and checks that nothing acknowledged was lost: every file
// `kwnode share` reported is still in `kwnode shares`, every finished
// `get` file is intact, every interrupted get resumes to the exact bytes,
// and the database opens (the daemon becomes ready) every time. At the
// end the neighbour's files are found again through the restarted node.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real daemons for about a minute")
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x6b77))

	bin := kwBinary(t)
	root := t.TempDir()
	repoA := newTestRepo(t, bin, filepath.Join(root, "a"))
	repoB := newTestRepo(t, bin, filepath.Join(root, "b"))
	a := startKwDaemon(t, bin, "a", repoA, append(loopbackArgs, "--mode", "server")...)
	argsB := append(append([]string{}, loopbackArgs...), "--mode", "server", "--bootstrap", a.TCPAddr())
	b := startKwDaemon(t, bin, "b", repoB, argsB...)

	// The provider shares one large file for the downloads.
	shareDirA := filepath.Join(root, "share-a")
	shareDirB := filepath.Join(root, "share-b")
	outDir := filepath.Join(root, "out")
	for _, d := range []string{shareDirA, shareDirB, outDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bigPath, bigData := writeRandomFile(t, shareDirA, "crash test big archive.bin", 64<<20)
	r := kwRun(t, bin, "", repoA, "share", bigPath)
	if r.Code != 0 {
		t.Fatalf("share on a: %d %s", r.Code, r.Stderr)
	}
	var bigCID string
	for c := range shareCIDs(r.Stdout) {
		bigCID = c
	}
	// Words of the files a shares, with whether `kwnode share` on a
	// acknowledged them (exit 0: stored and its records published).
	aFiles := map[string]bool{"archive": true}

	acked := map[string]string{}  // CID -> path of shares b acknowledged
	complete := map[string]bool{} // output paths of gets b finished
	interrupted := map[string]bool{}
	kills := map[string]int{}
	for i := 0; i < *crashIterations; i++ {
		op := []string{"share", "get", "records"}[rng.IntN(3)]
		kills[op]++
		// Records: a publishes a fresh file now, so b (its ring
		// neighbour) is storing records when it dies.
		word := fmt.Sprintf("crashrec%d", i)
		recPath, _ := writeRandomFile(t, shareDirA, word+" notes.txt", 1000+rng.IntN(50000))
		pub := startKw(t, bin, "", repoA, "share", recPath)

		var cmd *asyncCmd
		var out string
		switch op {
		case "share":
			n := 1 + rng.IntN(5)
			var paths []string
			for k := 0; k < n; k++ {
				p, _ := writeRandomFile(t, shareDirB, fmt.Sprintf("crash share %d %d.dat", i, k), 10000+rng.IntN(8<<20))
				paths = append(paths, p)
			}
			cmd = startKw(t, bin, "", repoB, append([]string{"share"}, paths...)...)
		case "get":
			out = filepath.Join(outDir, fmt.Sprintf("get-%d.bin", i))
			cmd = startKw(t, bin, "", repoB, "get", "-o", out, bigCID)
		case "records":
			cmd = startKw(t, bin, "", repoB, "status", "--json")
		}
		// Shares end sooner than the download (a 64 MiB get takes about
		// half a second on loopback): kill each within its span, so that
		// some finish and some are cut.
		maxDelay := map[string]int{"share": 150, "get": 1200, "records": 200}[op]
		delay := time.Duration(rng.IntN(maxDelay)) * time.Millisecond
		timer := time.NewTimer(delay)
		<-timer.C // the kill point: a random moment into the operation
		killed := time.Now()
		b.Kill9()
		code := cmd.wait(t)
		aFiles[word] = pub.wait(t) == 0
		switch op {
		case "share":
			if cmd.ackedBefore(killed) {
				for c, p := range shareCIDs(cmd.out.String()) {
					acked[c] = p
				}
			}
		case "get":
			if cmd.ackedBefore(killed) {
				complete[out] = true
			} else {
				interrupted[out] = true
			}
		}
		t.Logf("round %d: %s killed after %v (command exit %d)", i, op, delay, code)

		// Restart: the database must open and the node rejoin.
		b = startKwDaemon(t, bin, "b", repoB, argsB...)
		var shares []struct {
			CID string `json:"cid"`
		}
		if err := kwJSON(t, bin, repoB, &shares, "shares", "--json"); err != nil {
			t.Fatalf("round %d: shares after restart: %v", i, err)
		}
		have := map[string]bool{}
		for _, s := range shares {
			have[s.CID] = true
		}
		for c, p := range acked {
			if !have[c] {
				t.Errorf("round %d: share %s (%s) was acknowledged but is gone after kill -9", i, c, p)
			}
		}
		for p := range complete {
			kwCheckFile(t, p, bigData)
		}
	}

	// Interrupted downloads resume to the exact bytes. Right after the
	// last restart the ring may still be re-forming, so a get that finds
	// no provider is retried.
	for p := range interrupted {
		if _, err := os.Stat(p); err == nil {
			kwCheckFile(t, p, bigData) // finished by the background resume, or by the get before the kill
			continue
		}
		kwEventually(t, "resuming "+filepath.Base(p), 60*time.Second, func() error {
			if r := kwRun(t, bin, "", repoB, "get", "-o", p, bigCID); r.Code != 0 {
				return fmt.Errorf("exit %d: %s", r.Code, r.Stderr)
			}
			return nil
		})
		kwCheckFile(t, p, bigData)
	}
	// The records of every file a acknowledged are found again through b.
	for w, ok := range aFiles {
		if !ok {
			t.Logf("a's share of %q was not acknowledged (b died first); not checked", w)
			continue
		}
		kwEventually(t, "search "+w+" through b", 60*time.Second, func() error {
			var hits []hitJSON
			if err := kwJSON(t, bin, repoB, &hits, "search", "--json", w); err != nil {
				return err
			}
			for _, h := range hits {
				if providersInclude(h, a.PeerID) == nil {
					return nil
				}
			}
			return fmt.Errorf("no hit for %q from a among %d", w, len(hits))
		})
	}
	t.Logf("kills: %v; shares acknowledged %d, gets finished %d, gets interrupted and resumed %d",
		kills, len(acked), len(complete), len(interrupted))
}
