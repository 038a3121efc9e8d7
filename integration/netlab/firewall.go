package netlab

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
)

// natRules installs a home router's firewall in ns, in nftables terms:
//
//	table ip kwlab_nat {
//	  chain postrouting { type nat hook postrouting priority srcnat;
//	    oifname WAN masquerade [fully-random] }
//	}
//	table ip kwlab_filter {
//	  chain input { type filter hook input priority filter; policy drop;
//	    ct state established,related accept; iifname "lo" accept; iifname LAN accept }
//	  chain forward { type filter hook forward priority filter; policy drop;
//	    ct state established,related accept; iifname LAN oifname WAN accept }
//	}
func natRules(ns netns.NsHandle, wan, lan string, randomPorts bool) error {
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		return fmt.Errorf("netlab: nftables: %w", err)
	}
	nat := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "kwlab_nat"})
	post := c.AddChain(&nftables.Chain{
		Name: "postrouting", Table: nat, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	})
	c.AddRule(&nftables.Rule{Table: nat, Chain: post, Exprs: append(ifname(expr.MetaKeyOIFNAME, wan),
		&expr.Masq{FullyRandom: randomPorts})})

	filter := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "kwlab_filter"})
	drop := nftables.ChainPolicyDrop
	input := c.AddChain(&nftables.Chain{
		Name: "input", Table: filter, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &drop,
	})
	forward := c.AddChain(&nftables.Chain{
		Name: "forward", Table: filter, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop,
	})
	for _, ch := range []*nftables.Chain{input, forward} {
		c.AddRule(&nftables.Rule{Table: filter, Chain: ch, Exprs: establishedAccept()})
	}
	c.AddRule(&nftables.Rule{Table: filter, Chain: input, Exprs: append(ifname(expr.MetaKeyIIFNAME, "lo"), accept())})
	c.AddRule(&nftables.Rule{Table: filter, Chain: input, Exprs: append(ifname(expr.MetaKeyIIFNAME, lan), accept())})
	fwd := append(ifname(expr.MetaKeyIIFNAME, lan), ifname(expr.MetaKeyOIFNAME, wan)...)
	c.AddRule(&nftables.Rule{Table: filter, Chain: forward, Exprs: append(fwd, accept())})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("netlab: installing NAT rules (kernel without nf_tables?): %w", err)
	}
	return nil
}

// ifname matches an interface name (key IIFNAME or OIFNAME).
func ifname(key expr.MetaKey, name string) []expr.Any {
	b := make([]byte, 16) // IFNAMSIZ, NUL padded
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b},
	}
}

// establishedAccept is "ct state established,related accept".
func establishedAccept() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{
			SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
			Xor:  binaryutil.NativeEndian.PutUint32(0),
		},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0, 0, 0, 0}},
		accept(),
	}
}

func accept() expr.Any { return &expr.Verdict{Kind: expr.VerdictAccept} }
