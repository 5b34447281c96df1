package policy

import (
	"fmt"
	"strings"
)

// KEV is a vulnerability's entry in CISA's Known Exploited Vulnerabilities
// catalog: exploited in the wild, whatever its CVSS score says.
type KEV struct {
	CVE       string `json:"cve"`
	DateAdded string `json:"date_added"` // YYYY-MM-DD
	// Ransomware is the catalog's knownRansomwareCampaignUse "Known": used
	// in ransomware campaigns.
	Ransomware bool `json:"ransomware"`
}

// EPSS is a vulnerability's FIRST Exploit Prediction Scoring System score:
// the probability of exploitation activity in the next 30 days.
type EPSS struct {
	CVE         string  `json:"cve"`
	Probability float64 `json:"probability"`
	Percentile  float64 `json:"percentile"`
	Date        string  `json:"date"` // the scores' score_date, YYYY-MM-DD
}

// The default floors: a KEV advisory fails the gate, one likely exploited
// (EPSS over 0.5) blocks production.
const (
	DefaultKEVTier    = Critical
	DefaultEPSSAbove  = 0.5
	DefaultEPSSTier   = High
	floorSourcePrefix = "; raised by "
)

// Score sources of the floors, appended to the score's own source
// ("CVSS_V3 vector; raised by KEV (deps.kev)") so that both stay visible.
const (
	SourceKEVFloor  = "KEV (deps.kev)"
	SourceEPSSFloor = "EPSS (deps.epss)"
)

// ExploitNote says in words what is known of a vulnerability's
// exploitation, "" when nothing: "known exploited (CISA KEV since
// 2021-12-10, used by ransomware); EPSS 0.94 (top 0.02%, 2026-11-24)".
// Every output shows it with the finding (through its renderer).
func (f Finding) ExploitNote() string {
	var parts []string
	if k := f.KEV; k != nil {
		s := "known exploited (CISA KEV"
		if k.DateAdded != "" {
			s += " since " + k.DateAdded
		}
		if k.Ransomware {
			s += ", used by ransomware"
		}
		parts = append(parts, s+")")
	}
	if e := f.EPSS; e != nil {
		parts = append(parts, fmt.Sprintf("EPSS %.2f (percentile %.2f, %s)", e.Probability, e.Percentile, e.Date))
	}
	return strings.Join(parts, "; ")
}

// baseSource is a score source without a floor's suffix: what the score
// itself came from.
func baseSource(s string) string {
	b, _, _ := strings.Cut(s, floorSourcePrefix)
	return b
}

// Floored reports whether a floor raised the finding's tier.
func (f Finding) Floored() bool { return strings.Contains(f.ScoreSource, floorSourcePrefix) }

// applyFloors raises a vulnerability's tier to the KEV and EPSS floors.
// Floors only raise: a critical advisory stays critical whatever its EPSS.
func (p *Policy) applyFloors(f *Finding) {
	f.ScoreSource = baseSource(f.ScoreSource)
	if f.Kind != KindVulnerability {
		return
	}
	raise := func(to Severity, why string) {
		if to != SeverityUnset && f.Severity < to {
			f.Severity = to
			f.ScoreSource += floorSourcePrefix + why
		}
	}
	if f.KEV != nil {
		raise(p.DepsKEV, SourceKEVFloor)
	}
	if f.EPSS != nil && p.DepsEPSSTier != SeverityUnset && f.EPSS.Probability > p.DepsEPSSAbove {
		raise(p.DepsEPSSTier, fmt.Sprintf("%s: %.2f > %g", SourceEPSSFloor, f.EPSS.Probability, p.DepsEPSSAbove))
	}
}

// parseKEV reads deps.kev: a tier, or off (YAML's unquoted off is false).
func parseKEV(v *validator, raw any, out *Severity) {
	switch x := raw.(type) {
	case nil:
	case bool:
		if x {
			v.errf("$.deps.kev", "deps.kev: true is not a tier (want critical, high, medium, low or off)")
			return
		}
		*out = SeverityUnset
	case string:
		if strings.EqualFold(strings.TrimSpace(x), "off") {
			*out = SeverityUnset
			return
		}
		s, err := ParseSeverity(x)
		if err != nil {
			v.errf("$.deps.kev", "%v (or off)", err)
			return
		}
		*out = s
	default:
		v.errf("$.deps.kev", "want a tier (critical, high, medium, low) or off, not %v", raw)
	}
}

// parseEPSS reads deps.epss: {above: 0.5, tier: high}, or off.
func parseEPSS(v *validator, raw any, above *float64, tier *Severity) {
	switch x := raw.(type) {
	case nil:
	case bool:
		if x {
			v.errf("$.deps.epss", "deps.epss: true is not a setting (want {above: 0.5, tier: high} or off)")
			return
		}
		*tier = SeverityUnset
	case string:
		if !strings.EqualFold(strings.TrimSpace(x), "off") {
			v.errf("$.deps.epss", "unknown value %q (want {above: 0.5, tier: high} or off)", x)
			return
		}
		*tier = SeverityUnset
	case map[string]any:
		for k, val := range x {
			switch k {
			case "above":
				f, ok := number(val)
				if !ok || f < 0 || f >= 1 {
					v.errf("$.deps.epss.above", "above %v: want a probability in [0, 1)", val)
					continue
				}
				*above = f
			case "tier":
				s, ok := val.(string)
				if ok && strings.EqualFold(strings.TrimSpace(s), "off") || val == false {
					*tier = SeverityUnset
					continue
				}
				sev, err := ParseSeverity(fmt.Sprint(val))
				if !ok || err != nil {
					v.errf("$.deps.epss.tier", "tier %v: want critical, high, medium, low or off", val)
					continue
				}
				*tier = sev
			default:
				v.errf("$.deps.epss."+k, "unknown key %q (want above, tier)", k)
			}
		}
	default:
		v.errf("$.deps.epss", "want {above: 0.5, tier: high} or off, not %v", raw)
	}
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case uint64:
		return float64(n), true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	}
	return 0, false
}

// Validity is a provider's answer about a found credential.
type Validity string

// The answers. Unknown is every failure to get a clear one (a timeout, a
// rate limit, a server error): never taken for Invalid, which lowers the tier.
const (
	ValidityValid   Validity = "valid"
	ValidityInvalid Validity = "invalid"
	ValidityUnknown Validity = "unknown"
)

// Live reports whether the provider confirmed the credential works.
func (f Finding) Live() bool { return f.Validity == ValidityValid }

// DefaultSecretsInvalidTier is the tier of a credential its provider
// rejected (revoked): file an issue to clean it up, fail nothing.
const DefaultSecretsInvalidTier = Medium

// ValidityNote says in words what the provider answered, "" when it was
// not asked. Every output shows it with the finding; a live one also
// carries the word LIVE in the text report and in issue titles.
func (f Finding) ValidityNote() string {
	switch f.Validity {
	case ValidityValid:
		return "LIVE: the provider accepted this credential"
	case ValidityInvalid:
		return "rejected by the provider (revoked): tier from secrets.invalid"
	case ValidityUnknown:
		return "liveness unknown: the provider gave no clear answer"
	}
	return ""
}
