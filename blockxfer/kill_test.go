package blockxfer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// gateSource serves free blocks, then holds every read until open is closed.
type gateSource struct {
	Source
	free chan struct{} // one token per block served before the gate
	open chan struct{}
}

func (g *gateSource) ReadBlock(root cid.Cid, i int, buf []byte) (int, error) {
	select {
	case <-g.free:
	default:
		<-g.open
	}
	return g.Source.ReadBlock(root, i, buf)
}

// TestResumeAfterKill9 runs a fetch in a child process, kills it with
// SIGKILL once some blocks are recorded, and resumes in this process.
func TestResumeAfterKill9(t *testing.T) {
	if os.Getenv("BLOCKXFER_KILL_CHILD") != "" {
		t.Skip("child mode runs from TestKillChild")
	}
	const freeBlocks = 8
	dir := t.TempDir()
	src, data := randomFile(t, dir, "src", 20*BlockSize+3, 21)
	gate := &gateSource{free: make(chan struct{}, freeBlocks), open: make(chan struct{})}
	for range freeBlocks {
		gate.free <- struct{}{}
	}
	var rec *recordingSource
	prov := newProvider(t, func(s Source) Source {
		gate.Source = s
		rec = newRecording(gate)
		return rec
	})
	defer func() {
		select {
		case <-gate.open:
		default:
			close(gate.open)
		}
	}()
	root := share(t, prov.src, src)
	out := filepath.Join(dir, "out")
	addr := prov.h.Addrs()[0].Encapsulate(ma.StringCast("/p2p/" + prov.h.ID().String()))

	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BLOCKXFER_KILL_CHILD=1", "KC_ROOT="+root.String(),
		"KC_ADDR="+addr.String(), "KC_OUT="+out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_, state := PartialPaths(out)
	deadline := time.Now().Add(30 * time.Second)
	for len(markedBlocks(state)) < freeBlocks {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("child recorded %d blocks, want %d", len(markedBlocks(state)), freeBlocks)
		}
		time.Sleep(5 * time.Millisecond) // polling a file another process writes
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	verified := markedBlocks(state)
	before := rec.snapshot()
	close(gate.open)

	client := newHost(t)
	res, err := Fetch(fetchCtx(t), client, root, []peer.AddrInfo{addrInfo(prov.h)}, out, testOptions())
	if err != nil {
		t.Fatalf("resume after kill -9: %v", err)
	}
	checkFile(t, out, data)
	if res.Resumed < freeBlocks {
		t.Fatalf("resumed %d blocks, want at least %d", res.Resumed, freeBlocks)
	}
	after := rec.snapshot()
	for i := range verified {
		if after[i] != before[i] {
			t.Errorf("block %d, verified before the kill, was served again", i)
		}
	}
	if res.Resumed != len(verified) || res.Fetched != res.Blocks-res.Resumed {
		t.Fatalf("result %+v; %d blocks verified at the kill", res, len(verified))
	}
}

// markedBlocks reads the verified-block bits of a state file.
func markedBlocks(state string) map[int]bool {
	b, err := os.ReadFile(state)
	if err != nil || len(b) < 8 {
		return nil
	}
	// Header: magic, version, uvarint root length, root, uvarint size.
	rest := b[len(stateMagic)+1:]
	n, k := uvarint(rest)
	if k <= 0 || int(n)+k > len(rest) {
		return nil
	}
	rest = rest[k+int(n):]
	_, k = uvarint(rest)
	if k <= 0 {
		return nil
	}
	set := map[int]bool{}
	for i, x := range rest[k:] {
		for j := range 8 {
			if x&(1<<j) != 0 {
				set[i*8+j] = true
			}
		}
	}
	return set
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i, c := range b {
		if i == 10 {
			return 0, -1
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}

// TestKillChild is the child of TestResumeAfterKill9: it fetches until killed.
func TestKillChild(t *testing.T) {
	if os.Getenv("BLOCKXFER_KILL_CHILD") == "" {
		t.Skip("only run as TestResumeAfterKill9's child")
	}
	root, err := cid.Decode(os.Getenv("KC_ROOT"))
	if err != nil {
		t.Fatal(err)
	}
	ai, err := peer.AddrInfoFromString(os.Getenv("KC_ADDR"))
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.BlockTimeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = Fetch(ctx, newHost(t), root, []peer.AddrInfo{*ai}, os.Getenv("KC_OUT"), opts)
	t.Fatalf("child fetch returned before being killed: %v", err)
}
