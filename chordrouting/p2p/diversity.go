package p2p

import (
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	cr "kwsearch/chordrouting"
)

// AdmitFinger is the ring's finger diversity limit
// (chordrouting.Config.AdmitFinger): it refuses candidate as a finger
// when fingers (the ones held, the one it would replace left out) already
// hold MaxFingersPerIP peers of one of its IPs or MaxFingersPerSubnet of
// one of its subnets. The ring then takes the next node after candidate,
// or leaves the finger empty: fingers only speed lookups up. A peer's
// groups are those of its open connections, else of the addresses the
// peerstore has for it (AddrGrouper, DefaultAddrGroup unless set); a peer
// in no group (loopback, no address known) is always admitted.
func (t *Transport) AdmitFinger(candidate cr.Peer, fingers []cr.Peer) bool {
	t.mu.Lock()
	group := t.group
	t.mu.Unlock()
	mine := t.groupsOf(candidate, group)
	if len(mine) == 0 {
		return true
	}
	ips, nets := map[string]bool{}, map[string]bool{}
	for _, g := range mine {
		if g.IP != "" {
			ips[g.IP] = true
		}
		if g.Subnet != "" {
			nets[g.Subnet] = true
		}
	}
	perIP, perNet := map[string]int{}, map[string]int{}
	for _, f := range fingers {
		if f.ID == candidate.ID {
			continue
		}
		seenIP, seenNet := map[string]bool{}, map[string]bool{}
		for _, g := range t.groupsOf(f, group) {
			if ips[g.IP] && !seenIP[g.IP] {
				seenIP[g.IP] = true
				if perIP[g.IP]++; perIP[g.IP] >= t.cfg.MaxFingersPerIP {
					return false
				}
			}
			if nets[g.Subnet] && !seenNet[g.Subnet] {
				seenNet[g.Subnet] = true
				if perNet[g.Subnet]++; perNet[g.Subnet] >= t.cfg.MaxFingersPerSubnet {
					return false
				}
			}
		}
	}
	return true
}

// groupsOf returns the address groups of p: of its open connections if it
// has any (addresses a handshake proved), else of its known addresses.
func (t *Transport) groupsOf(p cr.Peer, group AddrGrouper) []AddrGroup {
	pid, err := PeerID(p)
	if err != nil {
		return nil
	}
	var addrs []ma.Multiaddr
	for _, c := range t.h.Network().ConnsToPeer(pid) {
		addrs = append(addrs, c.RemoteMultiaddr())
	}
	if len(addrs) == 0 {
		addrs = t.h.Peerstore().Addrs(pid)
	}
	return groupsOfAddrs(pid, addrs, group)
}

// groupsOfAddrs returns the distinct non-empty groups of addrs.
func groupsOfAddrs(pid peer.ID, addrs []ma.Multiaddr, group AddrGrouper) []AddrGroup {
	var out []AddrGroup
	for _, a := range addrs {
		g := group(pid, a)
		if g == (AddrGroup{}) {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == g
		}
		if !dup {
			out = append(out, g)
		}
	}
	return out
}
