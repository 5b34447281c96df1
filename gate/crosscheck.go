package gate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/secgate/secgate/gate/image"
	"github.com/secgate/secgate/gate/manifests"
	"github.com/secgate/secgate/policy"
)

// crossCheck weighs the image checks' image-runs-as-root against the
// manifests that run the same image: when every manifest running it sets a
// non-root user, the image's root user never runs (the image finding is
// dropped); when a manifest sets none, the image finding and that
// manifest's manifest-runs-as-root are one problem, reported once — as the
// image finding, which names the manifests. found is indexed like the
// scanners; it returns the notes for the image scanner.
func crossCheck(found [][]policy.Finding, deployed []policy.Deployment) []string {
	if len(deployed) == 0 {
		return nil
	}
	byRepo := map[string][]policy.Deployment{}
	for _, d := range deployed {
		r := image.Repository(d.Image)
		byRepo[r] = append(byRepo[r], d)
	}
	drop := map[string]bool{} // fingerprints
	var notes []string
	for i := range found {
		for j := range found[i] {
			f := &found[i][j]
			if f.Kind != policy.KindImage || f.Rule != image.CheckRoot {
				continue
			}
			repo, _, _ := strings.Cut(f.Location.Image, "@")
			repo, _, _ = strings.Cut(repo, " ")
			deps := byRepo[repo]
			if len(deps) == 0 {
				continue
			}
			var loose []string
			for _, d := range deps {
				if !d.NonRoot {
					loose = append(loose, d.Path+" "+d.Object)
					drop[policy.Fingerprint(policy.KindManifest, manifests.CheckRoot, d.Path, d.Object)] = true
				}
			}
			if len(loose) == 0 {
				drop[f.Fingerprint] = true
				notes = append(notes, fmt.Sprintf("%s runs as root, but every manifest that runs it sets a non-root user (%d): not a finding", repo, len(deps)))
				continue
			}
			f.Title += "; deployed without a non-root user by " + strings.Join(loose, ", ")
			f.Fix += " — or set runAsNonRoot: true and a non-zero runAsUser in " + strings.Join(loose, ", ")
		}
	}
	for i := range found {
		found[i] = slices.DeleteFunc(found[i], func(f policy.Finding) bool { return drop[f.Fingerprint] })
	}
	return notes
}
