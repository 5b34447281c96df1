// Command imagebench measures the image checks on random images of 10 MB,
// 100 MB and 1 GB served by an in-process registry: the registry requests
// and time of the config-only checks (size, user; target <= 2 round trips
// and < 100 ms whatever the size), and the time and peak RSS of a full
// `secgate run --only image` (target: <= 300 MB RSS on 1 GB), measured with
// /usr/bin/time in a child process so that the registry's memory is not
// counted. Run by bench/image.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/secgate/secgate/gate/image"
)

func main() {
	secgate := flag.String("secgate", "bench/.out/bin/secgate", "the secgate binary for the full runs")
	flag.Parse()
	var requests atomic.Int64
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/" {
			requests.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)

	fmt.Printf("%-8s %-28s %-34s\n", "image", "config-only (size, user)", "full checks (secgate run --only image)")
	for _, size := range []struct {
		name   string
		layers int64
		each   int64
	}{{"10 MB", 2, 5 << 20}, {"100 MB", 4, 25 << 20}, {"1 GB", 8, 128 << 20}} {
		img, err := random.Image(size.each, size.layers)
		must(err)
		ref, err := name.ParseReference(fmt.Sprintf("%s/bench/%s:1", u.Host, strings.ToLower(strings.ReplaceAll(size.name, " ", ""))))
		must(err)
		must(remote.Write(ref, img))

		var times []time.Duration
		var reqs int64
		for range 3 {
			requests.Store(0)
			start := time.Now()
			_, err := image.New(image.Options{Refs: []string{ref.String()}, MaxSize: 200e6, ConfigOnly: true}).Scan(context.Background())
			must(err)
			times = append(times, time.Since(start))
			reqs = requests.Load()
		}
		slices.Sort(times)

		requests.Store(0)
		out, err := exec.Command("/usr/bin/time", "-f", "%e %M", *secgate, "run", "--only", "image", "--format", "json", "--image", ref.String(), os.TempDir()).CombinedOutput()
		var secs float64
		var rssKB int64
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if _, perr := fmt.Sscanf(lines[len(lines)-1], "%f %d", &secs, &rssKB); perr != nil {
			fmt.Fprintf(os.Stderr, "secgate run: %v\n%s\n", err, out)
			os.Exit(1)
		}
		fmt.Printf("%-8s %2d requests, %8s (median)     %6.2f s, peak RSS %4d MB, %d requests\n",
			size.name, reqs, times[1].Round(time.Microsecond), secs, rssKB/1024, requests.Load())
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
