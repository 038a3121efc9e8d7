package p2p

import (
	"net/netip"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// AddrGroup is where a connection comes from, at two granularities: IP is
// the remote host, Subnet the network it sits in. Peers that share one
// are presumed to be one operator's: caps on inbound streams (and on
// routing state) count per group so that many peer IDs from one address
// get no more than a few would. An empty field puts the connection in no
// group at that level (no cap applies).
type AddrGroup struct {
	IP, Subnet string
}

// AddrGrouper classifies a connection by its remote peer and address.
// Tests inject fake mappings (every test host is on 127.0.0.1).
type AddrGrouper func(p peer.ID, remote ma.Multiaddr) AddrGroup

// DefaultAddrGroup classifies by IP address: an IPv4 address's group is
// itself and its /24, an IPv6 address's itself and its /48 (what one
// customer or one cloud tenant typically gets; aMule's Kad limits per IP
// and per /24 the same way). A relayed connection is grouped by its relay
// (the relay's circuit limits bound it; its own IP is unknown). Loopback
// and unspecified addresses are in no group: a local process is trusted
// as much as the user, and tests run every host on 127.0.0.1.
func DefaultAddrGroup(p peer.ID, remote ma.Multiaddr) AddrGroup {
	if remote == nil {
		return AddrGroup{}
	}
	if _, err := remote.ValueForProtocol(ma.P_CIRCUIT); err == nil {
		if relay, err := remote.ValueForProtocol(ma.P_P2P); err == nil {
			return AddrGroup{Subnet: "relay/" + relay}
		}
		return AddrGroup{}
	}
	nip, err := manet.ToIP(remote)
	if err != nil {
		return AddrGroup{}
	}
	ip, ok := netip.AddrFromSlice(nip)
	if !ok {
		return AddrGroup{}
	}
	return groupOf(ip.Unmap())
}

// groupOf is the group of one IP address.
func groupOf(ip netip.Addr) AddrGroup {
	if ip.IsLoopback() || ip.IsUnspecified() {
		return AddrGroup{}
	}
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	net, _ := ip.Prefix(bits)
	return AddrGroup{IP: ip.String(), Subnet: net.String()}
}
