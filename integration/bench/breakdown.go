package main

import "strconv"

// searchBreakdown splits our search latency by what each search did, to
// tell the link's round trip from what the system adds: how many hops it
// took, whether the searcher had to dial the host that answered, and the
// time over that host's own link RTT.
type searchBreakdown struct {
	// Hops counts searches by the number of nodes the read asked in
	// sequence (0: answered from the searcher's own store).
	Hops map[string]int `json:"hops_count"`
	// FreshFraction is the share of searches whose answering host the
	// searcher had no connection to before (the read dialed it).
	FreshFraction *float64 `json:"fresh_connection_fraction"`
	// OwnerRTTP50Ms is the median link RTT to the answering host.
	OwnerRTTP50Ms *float64 `json:"owner_rtt_p50_ms"`
	// One-hop searches (hops 1): latency over the answering host's link
	// RTT (1.0 is the physical limit), and the time beyond it.
	OneHopOverRTTP50 *float64 `json:"onehop_over_owner_rtt_p50"`
	OneHopOverRTTP99 *float64 `json:"onehop_over_owner_rtt_p99"`
	OneHopExcessP50  *float64 `json:"onehop_excess_ms_p50"`
	OneHopExcessP99  *float64 `json:"onehop_excess_ms_p99"`
	// Latency of one-hop searches on a connection that existed, on a
	// fresh one, and of searches that took two hops or more.
	OneHopWarmP50Ms  *float64 `json:"onehop_warm_p50_ms"`
	OneHopWarmP99Ms  *float64 `json:"onehop_warm_p99_ms"`
	OneHopFreshP50Ms *float64 `json:"onehop_fresh_p50_ms"`
	OneHopFreshP99Ms *float64 `json:"onehop_fresh_p99_ms"`
	MultiHopP50Ms    *float64 `json:"multihop_p50_ms"`
	MultiHopP99Ms    *float64 `json:"multihop_p99_ms"`
	// With one-hop routing: the smallest table's entries and the share
	// of all entries missing when the searches started (a search whose
	// owner its host's table lacks takes more hops).
	TableMinEntries *int     `json:"onehop_table_min_entries,omitempty"`
	TableMissing    *float64 `json:"onehop_table_missing_fraction,omitempty"`
}

// breakdownOf computes the breakdown of our side's searches (nil when the
// side did not record the per-search detail).
func breakdownOf(s *sideResult) *searchBreakdown {
	n := len(s.SearchFirstMs)
	if n == 0 || len(s.Hops) != n || len(s.SearchOwnerRTTms) != n || len(s.SearchFresh) != n {
		return nil
	}
	b := &searchBreakdown{Hops: map[string]int{}}
	var over, excess, warm, fresh, multi, rtts []float64
	nFresh := 0
	for i, lat := range s.SearchFirstMs {
		h := int(s.Hops[i])
		b.Hops[strconv.Itoa(h)]++
		rtt := s.SearchOwnerRTTms[i]
		if rtt > 0 {
			rtts = append(rtts, rtt)
		}
		if s.SearchFresh[i] {
			nFresh++
		}
		switch {
		case h >= 2:
			multi = append(multi, lat)
		case h == 1 && rtt > 0:
			over = append(over, lat/rtt)
			excess = append(excess, lat-rtt)
			if s.SearchFresh[i] {
				fresh = append(fresh, lat)
			} else {
				warm = append(warm, lat)
			}
		}
	}
	b.FreshFraction = ptr(float64(nFresh) / float64(n))
	b.OwnerRTTP50Ms = ptr(percentile(rtts, 50))
	b.OneHopOverRTTP50 = ptr(percentile(over, 50))
	b.OneHopOverRTTP99 = ptr(percentile(over, 99))
	b.OneHopExcessP50 = ptr(percentile(excess, 50))
	b.OneHopExcessP99 = ptr(percentile(excess, 99))
	b.OneHopWarmP50Ms = ptr(percentile(warm, 50))
	b.OneHopWarmP99Ms = ptr(percentile(warm, 99))
	b.OneHopFreshP50Ms = ptr(percentile(fresh, 50))
	b.OneHopFreshP99Ms = ptr(percentile(fresh, 99))
	b.MultiHopP50Ms = ptr(percentile(multi, 50))
	b.MultiHopP99Ms = ptr(percentile(multi, 99))
	if s.Tables != nil {
		b.TableMinEntries = iptr(s.Tables.Min)
		b.TableMissing = ptr(s.Tables.Missing)
	}
	return b
}
