package netlab

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func isRoot() bool { return os.Geteuid() == 0 }

// handle opens a netlink handle inside ns.
func handle(ns netns.NsHandle) (*netlink.Handle, error) {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("netlab: netlink handle: %w", err)
	}
	return h, nil
}

func linkUp(ns netns.NsHandle, name string) error {
	h, err := handle(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("netlab: link %s: %w", name, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("netlab: link %s up: %w", name, err)
	}
	return nil
}

func makeBridge(ns netns.NsHandle, name string) error {
	h, err := handle(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := h.LinkAdd(br); err != nil {
		return fmt.Errorf("netlab: bridge %s: %w", name, err)
	}
	if err := h.LinkSetUp(br); err != nil {
		return fmt.Errorf("netlab: bridge %s up: %w", name, err)
	}
	return nil
}

// plug connects namespace ns (interface name, address addr) to namespace
// peerNS (interface peerName, enslaved to bridge if not empty) with a veth
// pair created directly in the two namespaces.
func plug(ns netns.NsHandle, name string, addr netip.Prefix, peerNS netns.NsHandle, peerName, bridge string) error {
	h, err := handle(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: name},
		PeerName:      peerName,
		PeerNamespace: netlink.NsFd(int(peerNS)),
	}
	if err := h.LinkAdd(veth); err != nil {
		return fmt.Errorf("netlab: veth %s-%s: %w", name, peerName, err)
	}
	if err := addAddr(ns, name, addr); err != nil {
		return err
	}
	if err := linkUp(ns, name); err != nil {
		return err
	}
	if bridge != "" {
		ph, err := handle(peerNS)
		if err != nil {
			return err
		}
		defer ph.Close()
		p, err := ph.LinkByName(peerName)
		if err != nil {
			return fmt.Errorf("netlab: link %s: %w", peerName, err)
		}
		br, err := ph.LinkByName(bridge)
		if err != nil {
			return fmt.Errorf("netlab: bridge %s: %w", bridge, err)
		}
		if err := ph.LinkSetMaster(p, br); err != nil {
			return fmt.Errorf("netlab: %s into %s: %w", peerName, bridge, err)
		}
	}
	return linkUp(peerNS, peerName)
}

// addAddr adds addr to interface name in ns; an invalid addr adds nothing.
func addAddr(ns netns.NsHandle, name string, addr netip.Prefix) error {
	if !addr.IsValid() {
		return nil
	}
	h, err := handle(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("netlab: link %s: %w", name, err)
	}
	ipnet := &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), addr.Addr().BitLen())}
	if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipnet}); err != nil {
		return fmt.Errorf("netlab: address %s on %s: %w", addr, name, err)
	}
	return nil
}

// defaultRoute routes everything off-link through gw on interface name.
func defaultRoute(ns netns.NsHandle, name string, gw netip.Addr) error {
	h, err := handle(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("netlab: link %s: %w", name, err)
	}
	r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw.AsSlice()}
	if err := h.RouteAdd(r); err != nil {
		return fmt.Errorf("netlab: default route via %s: %w", gw, err)
	}
	return nil
}
