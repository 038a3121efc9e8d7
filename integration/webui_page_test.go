package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kwsearch/api"
	"kwsearch/webui"
)

// pageBackend is a fixed node for the page's presentation test: a ring
// member with fingers beyond its successors, a relay reservation, one
// direct and one relayed connection, and a search answer of mixed types.
type pageBackend struct{}

func ringID(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func (pageBackend) Status(context.Context) (api.Status, error) {
	r := api.Ring{ID: ringID("self"), Records: 7}
	for i := range 3 {
		r.Successors = append(r.Successors, api.RingPeer{ID: ringID(fmt.Sprint("succ", i)), PeerID: fmt.Sprint("12D3KooWsucc", i)})
	}
	for i := range 5 {
		r.Fingers = append(r.Fingers, api.RingPeer{ID: ringID(fmt.Sprint("finger", i)), PeerID: fmt.Sprint("12D3KooWfinger", i)})
	}
	return api.Status{PeerID: "12D3KooWself", Mode: "server", Reachability: "public", Ring: r,
		Relays: []string{"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWrelay/p2p-circuit"}}, nil
}
func (pageBackend) Peers(context.Context) ([]api.Peer, error) {
	return []api.Peer{{PeerID: "12D3KooWdirect", Addr: "/ip4/127.0.0.1/tcp/1", Direct: true},
		{PeerID: "12D3KooWrelayed", Addr: "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWrelay/p2p-circuit"}}, nil
}
func (pageBackend) Shares(context.Context) ([]api.ShareInfo, error)   { return nil, nil }
func (pageBackend) Downloads(context.Context) ([]api.Download, error) { return nil, nil }
func (pageBackend) Share(context.Context, api.ShareRequest, func(api.ShareEvent)) (api.ShareEvent, error) {
	return api.ShareEvent{}, api.BadRequest("not in this test")
}
func (pageBackend) Unshare(context.Context, api.UnshareRequest) (api.UnshareResult, error) {
	return api.UnshareResult{}, api.NotFound("not shared")
}
func (pageBackend) Get(context.Context, api.GetRequest, func(api.GetEvent)) (api.GetEvent, error) {
	return api.GetEvent{}, api.NotFound("not in this test")
}
func (pageBackend) Search(context.Context, api.SearchRequest) ([]api.SearchHit, error) {
	return []api.SearchHit{
		{CID: "c1", Name: "moon song.ogg", Size: 5_000_000, Providers: []string{"12D3KooWdirect", "x"}, Score: 3},
		{CID: "c2", Name: "moon notes.txt", Size: 2_000, Providers: []string{"y"}, Score: 2},
		{CID: "c3", Name: "moon film.mkv", Size: 700_000_000, Providers: []string{"z"}, Score: 1},
		{CID: "c4", Name: "moon live.ogg", Size: 9_000_000, Providers: []string{"w"}, Score: 0.5},
	}, nil
}

// TestWebUIPage checks what the page shows from a fixed node, in Chromium:
// results sorted and filtered by size and type, the node panel with relay
// reservations and direct/relayed connections, and the ring drawing.
func TestWebUIPage(t *testing.T) {
	bctx := newBrowser(t)
	srv := api.NewServer(pageBackend{}, "page-test-token", nil)
	ui, err := webui.New(webui.DefaultConfig(), webui.Options{Backend: pageBackend{}, Token: "page-test-token", APIAddr: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	ui.Mount(srv)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ui.Close(); ts.Close() })
	login := func() string {
		req, _ := http.NewRequest("POST", ts.URL+api.UILoginPath, nil)
		req.Header.Set("Authorization", "Bearer page-test-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var l api.UILogin
		if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
			t.Fatal(err)
		}
		return l.URL
	}

	browserDo(t, bctx, "open the page", chromedp.Navigate(login()), chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SetValue(chromedp.CSS("#q"), "moon"), chromedp.Click(chromedp.CSS("#search-form button")))
	order := `[...document.querySelectorAll("#results tbody tr")].map((r) => r.dataset.cid).join(",")`
	want := func(what, js, v string) {
		t.Helper()
		browserWait(t, bctx, what, 10*time.Second, fmt.Sprintf(`((v) => v === %q ? "" : "got " + v)(%s)`, v, js))
	}
	want("results by score", order, "c1,c2,c3,c4")
	browserDo(t, bctx, "sort by size", chromedp.Click(chromedp.CSS(`th button[data-sort="size"]`)))
	want("results by size, largest first", order, "c3,c4,c1,c2")
	browserDo(t, bctx, "sort by size again", chromedp.Click(chromedp.CSS(`th button[data-sort="size"]`)))
	want("results by size, smallest first", order, "c2,c1,c4,c3")
	want("the type choices", `[...document.querySelectorAll("#f-type option")].map((o) => o.value).join(",")`, ",mkv,ogg,txt")
	browserDo(t, bctx, "filter by type", chromedp.SetValue(chromedp.CSS("#f-type"), "ogg"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-type").dispatchEvent(new Event("input"))`))
	want("only ogg files", order, "c1,c4")
	browserDo(t, bctx, "filter by size", chromedp.SetValue(chromedp.CSS("#f-type"), ""), chromedp.SetValue(chromedp.CSS("#f-min"), "3"),
		chromedp.SetValue(chromedp.CSS("#f-max"), "100"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-max").dispatchEvent(new Event("input"))`))
	want("only 3 to 100 MB", order, "c1,c4")
	want("live providers", `document.querySelector('#results tr[data-cid="c1"] td:nth-child(3)').textContent`, "2 (1 connected)")

	want("the ring drawing", `[...["self", "succ", "finger"]].map((c) => document.querySelectorAll("#ring circle." + c).length).join(",")`, "1,3,5")
	want("finger chords", `String(document.querySelectorAll("#ring line.chord").length)`, "5")
	want("relay reservations", `document.querySelector("#n-relays").textContent`, "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWrelay/p2p-circuit")
	want("connections", `[...document.querySelectorAll("#peers tbody tr td:nth-child(3)")].map((c) => c.textContent).join(",")`, "direct,relayed")
	screenshot(t, bctx, "webui-fixed-node")
}
