package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// This file drives the daemon's web page in headless Chromium (Debian's
// chromium package). Without a browser the tests skip, except in CI
// (CI=true), where they fail: CI must install it.

// chromiumPath finds the browser or skips (fails in CI).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium found: CI must install it (apt-get install -y chromium)")
	}
	t.Skip("browser tests skipped: no chromium installed (apt-get install -y chromium)")
	return ""
}

// newBrowser starts headless Chromium with a fresh profile and no
// background traffic; it is stopped when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "chromium-profile")),
		chromedp.WindowSize(1280, 1000),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// browserDo runs steps with a deadline.
func browserDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// browserWait polls a JavaScript expression until it returns "" (any other
// string says what is still missing) or the timeout passes.
func browserWait(t *testing.T, ctx context.Context, what string, timeout time.Duration, js string) {
	t.Helper()
	kwEventually(t, what, timeout, func() error {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		msg, err := chromedp.Run(cctx, chromedp.Evaluate[string](js))
		if err != nil {
			return err
		}
		if msg != "" {
			return fmt.Errorf("%s", msg)
		}
		return nil
	})
}

// screenshot saves the whole page into the test's temporary folder (and
// into $KWSEARCH_SCREENSHOTS when set, to keep it) and logs the path.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(cctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(t.TempDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	if dir := os.Getenv("KWSEARCH_SCREENSHOTS"); dir != "" {
		keep := filepath.Join(dir, name+".png")
		if err := os.WriteFile(keep, png, 0o644); err == nil {
			t.Logf("screenshot kept: %s", keep)
		}
	}
}
