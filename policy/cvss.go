package policy

import (
	"fmt"
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// CVSSScore is the base score computed from one vector.
type CVSSScore struct {
	Score   float64
	Version string // "4.0", "3.1", "3.0" or "2.0"
	Vector  string
}

// Source names the kind of vector, in the report's score_source vocabulary.
func (s CVSSScore) Source() string {
	switch s.Version {
	case "4.0":
		return SourceCVSSv4
	case "2.0":
		return SourceCVSSv2
	}
	return SourceCVSSv3
}

// v4 base metrics: a v4 vector may carry threat, environmental and
// supplemental metrics, which change the score; the base score uses these only.
var cvss40Base = []string{"AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"}

// ScoreVector computes the CVSS base score of one vector. The version is
// read from its prefix ("CVSS:4.0/", "CVSS:3.1/", "CVSS:3.0/"); a vector
// without a prefix is read as CVSS v2. An invalid vector is an error.
func ScoreVector(vector string) (CVSSScore, error) {
	v := strings.TrimSpace(vector)
	switch {
	case strings.HasPrefix(v, "CVSS:4.0/"):
		c, err := gocvss40.ParseVector(v)
		if err != nil {
			return CVSSScore{}, fmt.Errorf("invalid CVSS v4.0 vector %q: %w", vector, err)
		}
		base := "CVSS:4.0"
		for _, m := range cvss40Base {
			val, err := c.Get(m)
			if err != nil {
				return CVSSScore{}, fmt.Errorf("invalid CVSS v4.0 vector %q: %w", vector, err)
			}
			base += "/" + m + ":" + val
		}
		b, err := gocvss40.ParseVector(base)
		if err != nil {
			return CVSSScore{}, fmt.Errorf("invalid CVSS v4.0 vector %q: %w", vector, err)
		}
		return CVSSScore{Score: b.Score(), Version: "4.0", Vector: v}, nil
	case strings.HasPrefix(v, "CVSS:3.1/"):
		c, err := gocvss31.ParseVector(v)
		if err != nil {
			return CVSSScore{}, fmt.Errorf("invalid CVSS v3.1 vector %q: %w", vector, err)
		}
		return CVSSScore{Score: c.BaseScore(), Version: "3.1", Vector: v}, nil
	case strings.HasPrefix(v, "CVSS:3.0/"):
		c, err := gocvss30.ParseVector(v)
		if err != nil {
			return CVSSScore{}, fmt.Errorf("invalid CVSS v3.0 vector %q: %w", vector, err)
		}
		return CVSSScore{Score: c.BaseScore(), Version: "3.0", Vector: v}, nil
	case strings.HasPrefix(v, "CVSS:"):
		return CVSSScore{}, fmt.Errorf("invalid CVSS vector %q: unsupported version", vector)
	case v == "":
		return CVSSScore{}, fmt.Errorf("invalid CVSS vector: empty")
	default:
		c, err := gocvss20.ParseVector(v)
		if err != nil {
			return CVSSScore{}, fmt.Errorf("invalid CVSS v2 vector %q: %w", vector, err)
		}
		return CVSSScore{Score: c.BaseScore(), Version: "2.0", Vector: v}, nil
	}
}

func cvssRank(version string) int {
	switch version {
	case "4.0":
		return 3
	case "3.1", "3.0":
		return 2
	}
	return 1
}

// ScoreVectors scores an advisory from all its vectors: the newest CVSS
// major version present wins (v4.0, then v3.x, then v2), and within it the
// highest base score. Any invalid vector is an error, never a silent zero.
// ok is false when there are no vectors at all.
func ScoreVectors(vectors []string) (best CVSSScore, ok bool, err error) {
	for _, v := range vectors {
		s, err := ScoreVector(v)
		if err != nil {
			return CVSSScore{}, false, err
		}
		if !ok || cvssRank(s.Version) > cvssRank(best.Version) ||
			(cvssRank(s.Version) == cvssRank(best.Version) && s.Score > best.Score) {
			best, ok = s, true
		}
	}
	return best, ok, nil
}
