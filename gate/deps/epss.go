package deps

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/secgate/secgate/policy"
)

// EPSSFile is where FIRST's EPSS scores sit in an offline database
// directory: the daily file, unchanged (gzip-compressed CSV).
const EPSSFile = "epss/epss_scores-current.csv.gz"

// DefaultEPSSURL is the daily EPSS file FIRST links to.
const DefaultEPSSURL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"

// epssScores are the scores of the CVEs asked for, and the file's date.
type epssScores struct {
	model  string
	date   time.Time
	scores map[string]policy.EPSS
}

// loadEPSS reads the EPSS file at path and keeps the scores of the CVEs in
// want (nil: none, the file is only checked and dated). The file is
// ~300,000 rows: keeping only the few a scan needs is what keeps loading
// it cheap (BenchmarkLoadEPSS).
func loadEPSS(path string, want map[string]bool) (*epssScores, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("EPSS scores %s: not gzip-compressed: %w", path, err)
	}
	s, err := parseEPSS(zr, want)
	if err != nil {
		return nil, fmt.Errorf("EPSS scores %s: %w", path, err)
	}
	return s, nil
}

// parseEPSS reads FIRST's CSV: a "#model_version:…,score_date:…" line, a
// header naming the columns (cve, epss, percentile, in any order, more
// columns allowed), then one row per CVE.
func parseEPSS(r io.Reader, want map[string]bool) (*epssScores, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	out := &epssScores{scores: map[string]policy.EPSS{}}
	line, err := readLine(br)
	if err != nil {
		return nil, fmt.Errorf("empty file: %w", err)
	}
	if !strings.HasPrefix(string(line), "#") {
		return nil, fmt.Errorf("line 1: no #model_version…,score_date… line (not FIRST's file?)")
	}
	for _, kv := range strings.Split(strings.TrimPrefix(string(line), "#"), ",") {
		k, v, _ := strings.Cut(kv, ":")
		switch strings.TrimSpace(k) {
		case "model_version":
			out.model = strings.TrimSpace(v)
		case "score_date":
			if out.date, err = parseFeedDate(v); err != nil {
				return nil, fmt.Errorf("line 1: score_date: %w", err)
			}
		}
	}
	if out.date.IsZero() {
		return nil, fmt.Errorf("line 1: no score_date")
	}
	header, err := readLine(br)
	if err != nil {
		return nil, fmt.Errorf("line 2: no header: %w", err)
	}
	col := map[string]int{}
	for i, name := range strings.Split(string(header), ",") {
		col[strings.TrimSpace(name)] = i
	}
	ci, ok1 := col["cve"]
	ei, ok2 := col["epss"]
	pi, ok3 := col["percentile"]
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("line 2: header %q lacks cve, epss or percentile", header)
	}
	date := out.date.UTC().Format(time.DateOnly)
	rows := 0
	for n := 3; ; n++ {
		line, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if len(line) == 0 {
			continue
		}
		rows++
		// Only the CVE column is looked at for the rows no finding needs.
		cve := field(line, ci)
		if cve == nil || !want[string(cve)] {
			continue
		}
		p, err1 := strconv.ParseFloat(string(field(line, ei)), 64)
		q, err2 := strconv.ParseFloat(string(field(line, pi)), 64)
		// NaN passes every comparison false: refused by name
		if err1 != nil || err2 != nil || math.IsNaN(p) || math.IsNaN(q) || p < 0 || p > 1 || q < 0 || q > 1 {
			return nil, fmt.Errorf("line %d: the scores of %s do not parse", n, cve)
		}
		out.scores[string(cve)] = policy.EPSS{CVE: string(cve), Probability: p, Percentile: q, Date: date}
	}
	if rows == 0 {
		return nil, fmt.Errorf("no score (a failed download?)")
	}
	return out, nil
}

// readLine returns the next line without its end (the slice is only valid
// until the next call).
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("a line over %d bytes", br.Size())
	}
	if err == io.EOF && len(line) > 0 {
		err = nil
	}
	return bytes.TrimRight(line, "\r\n"), err
}

// field returns the i-th comma-separated field of a line, nil if it has fewer.
func field(line []byte, i int) []byte {
	for ; i > 0; i-- {
		j := bytes.IndexByte(line, ',')
		if j < 0 {
			return nil
		}
		line = line[j+1:]
	}
	if j := bytes.IndexByte(line, ','); j >= 0 {
		line = line[:j]
	}
	return bytes.TrimSpace(line)
}
