package policy

import (
	"crypto/sha256"
	"encoding/hex"
)

// Tracking keys. One key per finding kind identifies a finding across
// runs, and is what exceptions, issue filing, caches and SARIF
// partialFingerprints all use (the README's "Finding identity"):
//
//   - secret: rule + path + a keyed hash (HMAC-SHA256) of the value; stable
//     across runs, line moves and scan modes (tree, history, range);
//   - vulnerability: advisory (the group's representative id) + ecosystem +
//     package + manifest path (or image + path in the image); never the
//     version, so an upgrade that does not fix the advisory keeps the key;
//   - image: check + image repository (or, with none, the image digest) +
//     path in the image; never the tag, nor a file path the image was read
//     from;
//   - config: check + file (the policy and ignore files a change edits).
//
// The key is the kind's prefix and 20 hex digits (80 bits) of a SHA-256
// over a version tag and the parts, each ended by a NUL byte.
const identityVersion = "v2"

// Fingerprint returns the tracking key of a finding of kind made of parts.
// It never sees a secret value: the secret scanner passes a keyed hash.
func Fingerprint(kind Kind, parts ...string) string {
	h := sha256.New()
	for _, s := range append([]string{"secgate", string(kind), identityVersion}, parts...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return fingerprintPrefix(kind) + hex.EncodeToString(h.Sum(nil))[:20]
}

func fingerprintPrefix(k Kind) string {
	switch k {
	case KindVulnerability:
		return "vuln-"
	case "":
		return "finding-"
	}
	return string(k) + "-"
}
