package policy

import (
	"strings"
	"testing"
)

// Published base scores (NVD / FIRST calculators) for real CVEs.
func TestScoreVectorPublishedScores(t *testing.T) {
	tests := []struct {
		cve    string
		vector string
		want   float64
		tier   Severity
	}{
		{"CVE-2021-44228 log4j-core (Log4Shell)", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, Critical},
		{"CVE-2022-22965 spring-beans (Spring4Shell)", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, Critical},
		{"CVE-2021-45046 log4j-core", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H", 9.0, Critical},
		{"CVE-2021-4034 polkit (PwnKit)", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, High},
		{"CVE-2014-0160 openssl (Heartbleed)", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, High},
		{"CVE-2021-3749 axios ReDoS", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, High},
		{"CVE-2020-8203 lodash prototype pollution", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H", 7.4, High},
		{"CVE-2021-23337 lodash command injection", "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2, High},
		{"CVE-2020-11022 jquery XSS", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, Medium},
		{"CVE-2021-45105 log4j-core DoS", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", 5.9, Medium},
		{"CVE-2020-7598 minimist prototype pollution", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L", 5.6, Medium},
		{"CVE-2020-28500 lodash ReDoS", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3, Medium},
		{"CVE-2017-5638 struts2 (v3.0 vector)", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, Critical},
		{"CVE-2014-0160 openssl (Heartbleed, v2)", "AV:N/AC:L/Au:N/C:P/I:N/A:N", 5.0, Medium},
		{"CVE-2014-6271 bash (Shellshock, v2)", "AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, Critical},
		{"CVSS v4.0 specification example, network RCE", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, Critical},
		{"CVSS v4.0 all high", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0, Critical},
		{"CVSS v4.0 with threat metric: base score ignores E", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", 9.3, Critical},
		{"low: AV:N/AC:H/UI:R, C:L only", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1, Low},
	}
	p := Default()
	for _, tt := range tests {
		t.Run(tt.cve, func(t *testing.T) {
			s, err := ScoreVector(tt.vector)
			if err != nil {
				t.Fatalf("ScoreVector(%q): %v", tt.vector, err)
			}
			if s.Score != tt.want {
				t.Errorf("score = %.1f, want %.1f", s.Score, tt.want)
			}
			if got := p.TierFor(s.Score); got != tt.tier {
				t.Errorf("tier = %v, want %v", got, tt.tier)
			}
		})
	}
}

func TestScoreVectorInvalid(t *testing.T) {
	for _, v := range []string{
		"",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",     // A missing
		"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", // bad value
		"CVSS:4.0/AV:N/AC:L",
		"CVSS:9.9/AV:N",
		"not a vector",
	} {
		if s, err := ScoreVector(v); err == nil {
			t.Errorf("ScoreVector(%q) = %v, want an error", v, s)
		}
	}
}

func TestScoreVectorsPrefersV4ThenHighest(t *testing.T) {
	v31crit := "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"               // 10.0
	v31med := "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"                // 5.3
	v4 := "CVSS:4.0/AV:N/AC:H/AT:N/PR:L/UI:A/VC:N/VI:N/VA:H/SC:N/SI:N/SA:H" // RUSTSEC-2026-0009
	v2 := "AV:N/AC:L/Au:N/C:C/I:C/A:C"                                      // 10.0

	best, ok, err := ScoreVectors([]string{v31crit, v4})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if best.Version != "4.0" || best.Vector != v4 {
		t.Errorf("with v3.1 and v4.0 vectors, got %+v, want the v4.0 one", best)
	}
	if best.Source() != SourceCVSSv4 {
		t.Errorf("source = %q", best.Source())
	}

	best, _, _ = ScoreVectors([]string{v31med, v31crit})
	if best.Score != 10.0 {
		t.Errorf("highest v3 score = %v, want 10.0", best.Score)
	}
	best, _, _ = ScoreVectors([]string{v2, v31med})
	if best.Version != "3.1" || best.Score != 5.3 {
		t.Errorf("v3 must win over v2 even when v2 scores higher: got %+v", best)
	}
	if _, ok, err := ScoreVectors(nil); ok || err != nil {
		t.Errorf("no vectors: ok=%v err=%v, want false, nil", ok, err)
	}
	if _, _, err := ScoreVectors([]string{v31crit, "CVSS:3.1/AV:N"}); err == nil || !strings.Contains(err.Error(), "CVSS:3.1/AV:N") {
		t.Errorf("an invalid vector among valid ones must be an error naming it, got %v", err)
	}
}

func FuzzScoreVector(f *testing.F) {
	for _, s := range []string{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"AV:N/AC:L/Au:N/C:C/I:C/A:C",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s, err := ScoreVector(v)
		if err == nil && (s.Score < 0 || s.Score > 10) {
			t.Fatalf("ScoreVector(%q) = %v, outside [0, 10]", v, s.Score)
		}
	})
}
