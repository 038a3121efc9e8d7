// Package netlab builds a NAT lab on one Linux machine from network
// namespaces and veth pairs, for tests of reachability, relaying and hole
// punching (issue 7).
//
// The topology:
//
//	            public segment 198.18.0.0/24 (a bridge in its own namespace)
//	  ┌───────────┬────────────┬──────────────────┬──────────────────┐
//	server 0    server 1 …   router A .101       router B .102
//	198.18.0.10 198.18.0.11    │ NAT                │ NAT
//	                         192.0.2.0/24        198.51.100.0/24
//	                         client A .10        client B .10
//
// Each router masquerades its LAN behind its public address and, like a
// home router, drops every unsolicited inbound packet: those it would
// forward and those addressed to itself (nftables input and forward chains
// with policy drop, accepting only conntrack ESTABLISHED,RELATED and
// traffic from the LAN). Without the input drop the router answers the
// first hole-punching packet with a reset and its conntrack entry clashes
// with its own client's outgoing packet, so the NAT remaps the port and
// punching mostly fails. Options.RandomPorts makes the masquerade
// randomize source ports (nftables "masquerade fully-random", iptables
// --random-fully), like a symmetric NAT, so hole punching cannot work.
//
// Everything is built from Go (vishvananda/netlink for links, addresses
// and routes; google/nftables for the firewall), so the lab needs no
// system packages, only root (CAP_NET_ADMIN, CAP_SYS_ADMIN for namespace
// bind mounts) and a kernel with nf_tables and conntrack. Processes run in
// a namespace by being forked from an OS thread that has entered it
// (Lab.Command), so `ip netns exec` is not needed either; the namespaces
// are named (under /var/run/netns) so `ip netns` can inspect a failing run.
//
// Namespaces are named kwlab-PID-RANDOM-ROLE, unique per lab; Close removes
// them, and New registers Close with t.Cleanup. A process started in a lab
// dies with the test binary (parent-death signal), and Build sweeps away
// the namespaces of runs whose process is gone, never those of a live run.
// Only addresses inside these namespaces are used; nothing is added to the
// machine's own network namespace.
package netlab
