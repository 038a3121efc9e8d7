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

// TestWebUIDownloadSurvivesRestart starts a download from A's page while
// the only provider B is down, restarts A on the same API address, sees the
// unfinished download listed again (the session survives the restart), brings B
// back and finishes the download from the page.
func TestWebUIDownloadSurvivesRestart(t *testing.T) {
	bctx := newBrowser(t)
	bin := kwBinary(t)
	ds := startWebUINet(t, bin, 2)
	a, b := ds[0], ds[1]
	base := t.TempDir()

	seed := time.Now().UnixNano()
	t.Logf("content seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 3))
	content := make([]byte, 1<<20+4321)
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	const name = "Night Train Blues.ogg"
	file := filepath.Join(base, "b-files", name)
	os.MkdirAll(filepath.Dir(file), 0o755)
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatal(err)
	}
	r := kwRun(t, bin, "", b.Repo, "share", file)
	if r.Code != 0 {
		t.Fatalf("share: %d %s", r.Code, r.Stderr)
	}
	cid, _, _ := strings.Cut(r.Stdout, "\t")
	kwEventually(t, "A finds B's file (CLI)", 30*time.Second, func() error {
		_, err := findHit(t, bin, a, cid, "night", "train")
		return err
	})

	dlDir := filepath.Join(base, "a-downloads")
	browserDo(t, bctx, "open the page", chromedp.Navigate(uiURL(t, bin, a)), chromedp.WaitVisible(chromedp.CSS("#q")))
	b.Kill9()
	browserDo(t, bctx, "search", chromedp.SetValue(chromedp.CSS("#dl-dir"), dlDir),
		chromedp.SetValue(chromedp.CSS("#q"), "night train"), chromedp.Click(chromedp.CSS("#search-form button")))
	browserWait(t, bctx, "the result row", 20*time.Second, fmt.Sprintf(
		`document.querySelector('button[data-cid=%q]') ? "" : document.querySelector("#search-status").textContent`, cid))
	browserDo(t, bctx, "click download", chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[data-cid=%q]`, cid))))
	stateJS := fmt.Sprintf(`(() => {
		const li = document.querySelector('#dl-list li[data-cid=%q]');
		return li ? li.dataset.state : "not listed";
	})()`, cid)
	browserWait(t, bctx, "the download fails without its provider", 60*time.Second,
		`(s => s === "failed" || s === "waiting" ? "" : s)(`+stateJS+`)`)

	// Restart A on the same API address: the page comes back with the
	// unfinished download.
	if code := a.Stop(20 * time.Second); code != 0 {
		t.Fatalf("a exited %d on SIGTERM", code)
	}
	a2 := startKwDaemon(t, bin, "a2", a.Repo, append(slices.Clone(loopbackArgs), "--mode", "server", "--api", a.API)...)
	if a2.API != a.API {
		t.Fatalf("a restarted on %s, not %s", a2.API, a.API)
	}
	browserDo(t, bctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#q")))
	browserWait(t, bctx, "the unfinished download listed after the restart", 20*time.Second,
		`(s => s === "waiting" || s === "running" ? "" : s)(`+stateJS+`)`)
	screenshot(t, bctx, "webui-after-restart")

	// B comes back; the download finishes (by the node's own resume or the
	// page's Resume button).
	b2 := startKwDaemon(t, bin, "b2", b.Repo, append(slices.Clone(loopbackArgs), "--mode", "server", "--bootstrap", a2.TCPAddr())...)
	kwEventually(t, "A finds B again (CLI)", 60*time.Second, func() error {
		h, err := findHit(t, bin, a2, cid, "night", "train")
		if err != nil {
			return err
		}
		return providersInclude(h, b2.PeerID)
	})
	browserWait(t, bctx, "the download done after the restart", 60*time.Second, fmt.Sprintf(`(() => {
		const li = document.querySelector('#dl-list li[data-cid=%q]');
		if (!li) return "not listed";
		if (li.dataset.state === "done" && li.querySelector("progress").value === 100) return "";
		const b = li.querySelector("button.resume");
		if (b) { b.click(); return "clicked Resume"; }
		return li.dataset.state + ": " + li.textContent;
	})()`, cid))
	kwCheckFile(t, filepath.Join(dlDir, name), content)
}
