package chordrouting

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// churnTables fills tabs (sharing one Directory) with the same n random
// members and returns them, with the random source for more.
func churnTables(b *testing.B, n, tables int) ([]memberTable, []ID, *rand.Rand) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	dir := NewDirectory()
	tabs := make([]memberTable, tables)
	for k := range tabs {
		tabs[k] = newMemberTable(dir, 1<<17)
	}
	ids := make([]ID, n)
	for k := range ids {
		binary.BigEndian.PutUint64(ids[k][:8], rng.Uint64())
		for w := range tabs {
			tabs[w].add(Peer{ID: ids[k], Addr: "/ip4/10.0.0.1/tcp/4001"})
		}
	}
	return tabs, ids, rng
}

// BenchmarkMemberTableChurn: one join and one departure (add + remove) in
// a table of 100,000 members with its own Directory.
func BenchmarkMemberTableChurn(b *testing.B) {
	tabs, ids, rng := churnTables(b, 100_000, 1)
	t := &tabs[0]
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		k := rng.IntN(len(ids))
		t.remove(ids[k])
		binary.BigEndian.PutUint64(ids[k][:8], rng.Uint64())
		t.add(Peer{ID: ids[k], Addr: "/ip4/10.0.0.1/tcp/4001"})
	}
}

// BenchmarkMemberTableChurnShared: the same join and departure applied to
// 16 tables of 100,000 members sharing a Directory, as a simulated ring's
// nodes apply each event (per table: the first builds the new chunk, the
// others find it).
func BenchmarkMemberTableChurnShared(b *testing.B) {
	tabs, ids, rng := churnTables(b, 100_000, 16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(tabs) {
		k := rng.IntN(len(ids))
		old := ids[k]
		binary.BigEndian.PutUint64(ids[k][:8], rng.Uint64())
		for w := range tabs {
			tabs[w].remove(old)
			tabs[w].add(Peer{ID: ids[k], Addr: "/ip4/10.0.0.1/tcp/4001"})
		}
	}
}
