package integration

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// startWebUINet starts n ring servers on loopback and waits for the ring.
func startWebUINet(t *testing.T, bin string, n int) []*kwDaemon {
	t.Helper()
	base := t.TempDir()
	var ds []*kwDaemon
	for i := range n {
		name := string(rune('a' + i))
		args := append(slices.Clone(loopbackArgs), "--mode", "server")
		if i > 0 {
			args = append(args, "--bootstrap", ds[0].TCPAddr())
		}
		repo := newTestRepo(t, bin, filepath.Join(base, name))
		ds = append(ds, startKwDaemon(t, bin, name, repo, args...))
	}
	if n > 1 {
		kwEventually(t, fmt.Sprintf("ring of %d converged", n), 60*time.Second, func() error { return ringConverged(t, bin, ds) })
	}
	return ds
}

// uiURL runs `kwnode ui` and returns the one-time login URL it prints.
func uiURL(t *testing.T, bin string, d *kwDaemon) string {
	t.Helper()
	r := kwRun(t, bin, "", d.Repo, "ui")
	url := strings.TrimSpace(r.Stdout)
	if r.Code != 0 || !strings.HasPrefix(url, "http://"+d.API+"/ui/login?ticket=") {
		t.Fatalf("kwnode ui: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	return url
}

// TestWebUI drives the page of node A in headless Chromium: search for a
// file node B shares, download it with live progress to 100%, check its
// bytes, see the list survive a reload, share a file from the page and find
// it from node C with the CLI, and see the node panel and ring drawing.
func TestWebUI(t *testing.T) {
	bctx := newBrowser(t)
	bin := kwBinary(t)
	ds := startWebUINet(t, bin, 3)
	a, b, c := ds[0], ds[1], ds[2]
	base := t.TempDir()

	seed := time.Now().UnixNano()
	t.Logf("content seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 2))
	content := make([]byte, 2<<20+777)
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	const name = "Green Field Song.ogg"
	shared := filepath.Join(base, "b-files")
	os.MkdirAll(shared, 0o755)
	if err := os.WriteFile(filepath.Join(shared, name), content, 0o644); err != nil {
		t.Fatal(err)
	}
	r := kwRun(t, bin, "", b.Repo, "share", filepath.Join(shared, name))
	if r.Code != 0 {
		t.Fatalf("share: %d %s", r.Code, r.Stderr)
	}
	cid, _, _ := strings.Cut(r.Stdout, "\t")
	kwEventually(t, "A finds B's file (CLI)", 30*time.Second, func() error {
		_, err := findHit(t, bin, a, cid, "green", "field")
		return err
	})

	// Log in with the one-time URL and search.
	browserDo(t, bctx, "open the page", chromedp.Navigate(uiURL(t, bin, a)), chromedp.WaitVisible(chromedp.CSS("#q")))
	dlDir := filepath.Join(base, "a-downloads")
	browserDo(t, bctx, "search", chromedp.SetValue(chromedp.CSS("#dl-dir"), dlDir),
		chromedp.SetValue(chromedp.CSS("#q"), "green field"), chromedp.Click(chromedp.CSS("#search-form button")))
	row := fmt.Sprintf(`#results tr[data-cid=%q]`, cid)
	browserWait(t, bctx, "the result row", 20*time.Second, fmt.Sprintf(`(() => {
		const r = document.querySelector(%q);
		if (!r) return "no row: " + document.querySelector("#search-status").textContent;
		const t = r.textContent;
		return t.includes(%q) && t.includes("2.0 MiB") ? "" : "row says " + t;
	})()`, row, name))

	// Download with a click; progress reaches 100%.
	browserDo(t, bctx, "click download", chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[data-cid=%q]`, cid))))
	doneJS := fmt.Sprintf(`(() => {
		const li = document.querySelector('#dl-list li[data-cid=%q]');
		if (!li) return "not listed";
		const p = li.querySelector("progress");
		return li.dataset.state === "done" && p.value === 100 ? "" : li.dataset.state + " " + p.value + "%%: " + li.textContent;
	})()`, cid)
	browserWait(t, bctx, "download at 100%", 30*time.Second, doneJS)
	kwCheckFile(t, filepath.Join(dlDir, name), content)
	browserDo(t, bctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#q")))
	browserWait(t, bctx, "the download listed after a reload", 10*time.Second, doneJS)
	screenshot(t, bctx, "webui-download")

	// Share a file from the page; node C finds it with the CLI.
	mine := filepath.Join(base, "a-files", "Purple Rain Tune.flac")
	os.MkdirAll(filepath.Dir(mine), 0o755)
	if err := os.WriteFile(mine, []byte("purple rain, a short tune"), 0o644); err != nil {
		t.Fatal(err)
	}
	browserDo(t, bctx, "share", chromedp.SetValue(chromedp.CSS("#share-path"), filepath.Dir(mine)),
		chromedp.SetValue(chromedp.CSS("#share-kw"), "live"), chromedp.Click(chromedp.CSS("#share-form button")))
	browserWait(t, bctx, "the share listed with its keywords", 20*time.Second, `(() => {
		const r = [...document.querySelectorAll("#share-table tbody tr")].find((r) => r.textContent.includes("Purple Rain Tune.flac"));
		if (!r) return "not listed: " + document.querySelector("#share-status").textContent;
		return r.textContent.includes("purple, rain, tune, live") ? "" : "row says " + r.textContent;
	})()`)
	mineCID, err := chromedp.Run(bctx, chromedp.Evaluate[string](
		`[...document.querySelectorAll("#share-table tbody tr")].find((r) => r.textContent.includes("Purple Rain Tune.flac")).dataset.cid`))
	if err != nil {
		t.Fatal(err)
	}
	kwEventually(t, "C finds the file shared from A's page (CLI)", 30*time.Second, func() error {
		h, err := findHit(t, bin, c, mineCID, "purple", "rain")
		if err != nil {
			return err
		}
		return providersInclude(h, a.PeerID)
	})

	// The node panel: identity, mode, connections and the ring drawing.
	browserWait(t, bctx, "the node panel", 15*time.Second, fmt.Sprintf(`(() => {
		if (document.querySelector("#n-peer").textContent !== %q) return "peer ID not shown";
		if (document.querySelector("#n-mode").textContent !== "server") return "mode not shown";
		if (document.querySelectorAll("#ring circle.self").length !== 1) return "no self on the ring";
		if (document.querySelectorAll("#ring circle.succ").length < 2) return "successors not drawn";
		if (document.querySelectorAll("#peers tbody tr").length < 2) return "connections not listed";
		return "";
	})()`, a.PeerID))
	fingers, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#ring circle.finger").length`))
	t.Logf("ring drawing: %d distinct fingers besides successors (err %v)", fingers, err)
	screenshot(t, bctx, "webui-page")
}
