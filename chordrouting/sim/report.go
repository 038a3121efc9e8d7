package sim

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Report is the outcome of Run. Its JSON form is kwnode sim --json's output.
type Report struct {
	Seed    int64   `json:"seed"`
	Nodes   int     `json:"nodes"`
	Lookups int     `json:"lookups"` // lookups that completed or failed (asker still alive)
	Fail    float64 `json:"fail"`
	Churn   float64 `json:"churn"`
	// SessionS is the mean session length in seconds (0: no session churn).
	SessionS float64 `json:"session_s"`
	// Build says how the ring was built: "joins" (every node joined through
	// the protocol, in batches) or "formed" (started settled, Sim.FormRing).
	Build string `json:"build"`

	MeanHops float64 `json:"mean_hops"`
	P50Hops  int     `json:"p50_hops"`
	P99Hops  int     `json:"p99_hops"`
	MaxHops  int     `json:"max_hops"`
	// OneHopFraction is the fraction of correct lookups that finished
	// after at most one request (answered locally, or by the first node
	// asked).
	OneHopFraction float64 `json:"one_hop_fraction"`
	// MultiHopCauses sorts the correct lookups of more than one hop in
	// one-hop mode by what the asker's table could not know yet
	// (multihop.go): owner_changed, asker_joined_recently,
	// owner_joined_recently, owner_took_over_recently (a crashed
	// predecessor), other.
	MultiHopCauses map[string]int `json:"multi_hop_causes,omitempty"`
	// FailedLookups = LookupErrors + WrongOwner + HungLookups.
	FailedLookups int `json:"failed_lookups"`
	LookupErrors  int `json:"lookup_errors"` // the core returned an error
	WrongOwner    int `json:"wrong_owner"`   // returned a node that is not the key's live owner
	// WrongOwnerDead and WrongOwnerNewJoiner break WrongOwner down: the
	// answer named a crashed node, or the member just after an owner that
	// joined less than 10 stabilization intervals ago.
	WrongOwnerDead      int `json:"wrong_owner_dead"`
	WrongOwnerNewJoiner int `json:"wrong_owner_new_joiner"`
	// LookupErrorKinds counts the lookup errors by message.
	LookupErrorKinds map[string]int `json:"lookup_error_kinds,omitempty"`
	HungLookups      int            `json:"hung_lookups"` // never completed although the asker stayed alive
	Abandoned        int            `json:"abandoned"`    // asker crashed before the answer (not counted)
	FailedFrac       float64        `json:"failed_fraction"`

	RingCorrect bool   `json:"ring_correct"`
	RingError   string `json:"ring_error,omitempty"`

	Records int `json:"records"` // distinct records published
	// RecordsLost counts records whose publisher is alive that a Get from a
	// random live node does not find once the ring has repaired and the
	// publishers have republished once.
	RecordsLost int `json:"records_lost"`
	// RecordsMissingBeforeRepublish counts records with a live publisher
	// that were not on their owner after the ring repaired, before
	// republishing: what replication and repair alone kept.
	RecordsMissingBeforeRepublish int `json:"records_missing_before_republish"`
	// PutErrors counts Put calls that reported an error or stored fewer
	// items than asked.
	PutErrors int `json:"put_errors"`

	FailedNodes int `json:"failed_nodes"` // crashed during the run
	JoinedNodes int `json:"joined_nodes"` // joined during churn
	LiveNodes   int `json:"live_nodes"`   // live members at the end

	FormS    float64 `json:"form_s"`    // virtual seconds until the ring was correct
	RepairS  float64 `json:"repair_s"`  // virtual seconds from the mass failure to a correct ring
	SimS     float64 `json:"sim_s"`     // virtual seconds simulated in all
	ElapsedS float64 `json:"elapsed_s"` // wall-clock seconds
	// CPUS is the CPU time the process used meanwhile (user + system, all
	// threads: the simulation's goroutine and the garbage collector).
	CPUS float64 `json:"cpu_s"`

	Messages uint64 `json:"messages"` // messages sent in all
	Events   uint64 `json:"events"`   // simulator events processed
	// MaintKbpsPerNode is the traffic per node for maintenance: in a quiet
	// period (no lookups, no churn) after the ring formed, or with Session,
	// while session churn runs (Options.ChurnIntervals stabilization
	// intervals before the lookups start), which is what a deployment
	// pays. Message sizes are
	// those of the libp2p codec (wire.go).
	MaintKbpsPerNode float64 `json:"maint_kbps_per_node"`
	// MaintKbpsByType breaks MaintKbpsPerNode down by message type.
	MaintKbpsByType map[string]float64 `json:"maint_kbps_by_type,omitempty"`
	// MaintQuietKbpsPerNode is the quiet-period figure when
	// MaintKbpsPerNode was measured under churn.
	MaintQuietKbpsPerNode float64 `json:"maint_quiet_kbps_per_node,omitempty"`
	// OneHop says whether the nodes ran with one-hop membership tables;
	// TableMean is then the mean table size after the ring formed and
	// TableComplete the mean fraction of the other live members a table
	// held (a sample of 200 nodes).
	OneHop        bool    `json:"one_hop"`
	TableMean     float64 `json:"table_mean,omitempty"`
	TableComplete float64 `json:"table_complete,omitempty"`
	// TablesS is how long (virtual seconds) the tables took after the ring
	// formed to hold 99.5% of the live members on average.
	TablesS float64 `json:"tables_s,omitempty"`
	// TickS is the nodes' tick in seconds.
	TickS float64 `json:"tick_s"`
	// HeapMiB is the Go heap in use at the end of the run.
	HeapMiB float64 `json:"heap_mib"`
	// TraceHash identifies the run's whole event sequence: equal seeds and
	// options give equal hashes.
	TraceHash string `json:"trace_hash"`
}

// WriteTable prints the report as a short readable table.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, format string, a ...any) {
		fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...)
	}
	row("seed", "%d", r.Seed)
	built := "built by joins"
	if r.Build == BuildFormed {
		built = "started settled"
	}
	row("nodes", "%d (%s; %d live at the end)", r.Nodes, built, r.LiveNodes)
	if r.Fail > 0 {
		row("failed at once", "%d (%.0f%%), ring repaired in %.1f s", r.FailedNodes, 100*r.Fail, r.RepairS)
	}
	if r.Churn > 0 || r.SessionS > 0 {
		row("churn", "%d joins, %d failures", r.JoinedNodes, r.FailedNodes)
	}
	row("lookups", "%d", r.Lookups)
	row("hops", "mean %.2f  p50 %d  p99 %d  max %d  one hop %.2f%%", r.MeanHops, r.P50Hops, r.P99Hops, r.MaxHops, 100*r.OneHopFraction)
	row("failed lookups", "%d (%.3f%%): %d errors, %d wrong owner (%d dead, %d just after a new joiner), %d hung",
		r.FailedLookups, 100*r.FailedFrac, r.LookupErrors, r.WrongOwner, r.WrongOwnerDead, r.WrongOwnerNewJoiner, r.HungLookups)
	ring := "correct"
	if !r.RingCorrect {
		ring = "NOT correct: " + r.RingError
	}
	row("ring", "%s", ring)
	row("records", "%d published, %d lost (%d missing before republish)", r.Records, r.RecordsLost, r.RecordsMissingBeforeRepublish)
	row("traffic", "%d messages, %.2f kbit/s per node for maintenance", r.Messages, r.MaintKbpsPerNode)
	if r.MaintQuietKbpsPerNode > 0 {
		row("", "(measured under churn; %.2f kbit/s on the quiet ring)", r.MaintQuietKbpsPerNode)
	}
	if r.OneHop {
		row("one-hop tables", "%.1f entries on average, %.2f%% of the live members, %.0f s after the ring formed (tick %.1f s)",
			r.TableMean, 100*r.TableComplete, r.TablesS, r.TickS)
	}
	row("time", "%.1f s simulated (ring formed at %.1f s), %.1f s wall, %.1f s CPU, %d events, heap %.0f MiB",
		r.SimS, r.FormS, r.ElapsedS, r.CPUS, r.Events, r.HeapMiB)
	return tw.Flush()
}
