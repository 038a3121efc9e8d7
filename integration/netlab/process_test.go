package netlab

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHelperProcess is not a test: run by TestRunInNamespace as a child,
// it prints its interface addresses.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("NETLAB_HELPER") != "1" {
		return
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	for _, a := range addrs {
		fmt.Println(a)
	}
	os.Exit(0)
}

// TestRunInNamespace: a process started in a client's namespace sees the
// client's address and none of the other namespaces'.
func TestRunInNamespace(t *testing.T) {
	skipUnlessLab(t)
	lab := New(t, Options{Servers: 2})
	c := lab.Clients[1]
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "NETLAB_HELPER=1")
	out, err := c.Run(cmd)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := string(out)
	if !strings.Contains(got, c.Addr.String()+"/24") {
		t.Errorf("process in %s sees %q, want %s", c.Name, got, c.Addr)
	}
	for _, other := range []string{lab.Clients[0].Addr.String(), lab.Servers[0].Addr.String(), c.Router.Addr.String()} {
		if strings.Contains(got, other+"/") {
			t.Errorf("process in %s sees %s: %q", c.Name, other, got)
		}
	}
}
