package gate_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Each external library belongs to one package (our style: one package owns
// each library, so that its quirks are handled in one place), and policy
// stays pure: no network, no processes.
func TestDependencyOwnership(t *testing.T) {
	// Test files too: a test that reaches for another package's library
	// is how ownership erodes.
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}} {{join .TestImports \" \"}} {{join .XTestImports \" \"}}", "github.com/secgate/secgate/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	owners := map[string]string{
		"github.com/zricethezav/gitleaks/v8":     "github.com/secgate/secgate/gate/secrets",
		"github.com/google/osv-scanner/v2":       "github.com/secgate/secgate/gate/deps",
		"github.com/google/osv-scalibr":          "github.com/secgate/secgate/gate/deps",
		"github.com/ossf/osv-schema":             "github.com/secgate/secgate/gate/deps",
		"github.com/google/go-containerregistry": "github.com/secgate/secgate/gate/image",
		"github.com/pandatix/go-cvss":            "github.com/secgate/secgate/policy",
		"github.com/goccy/go-yaml":               "github.com/secgate/secgate/policy",
		"github.com/spf13/cobra":                 "github.com/secgate/secgate/cmd/secgate",
		"github.com/google/go-github":            "github.com/secgate/secgate/gate/github",
		"github.com/sethvargo/go-githubactions":  "github.com/secgate/secgate/gate/github",
		"github.com/owenrumney/go-sarif":         "github.com/secgate/secgate/gate/report",
		"gitlab.com/gitlab-org/api/client-go":    "github.com/secgate/secgate/gate/gitlab",
		"github.com/sigstore/":                   "github.com/secgate/secgate/gate/sign", // cosign, sigstore, sigstore-go, rekor
		"github.com/slack-go/slack":              "github.com/secgate/secgate/gate/notify",
		"github.com/go-git/":                     "github.com/secgate/secgate/gate/repo",
		"github.com/moby/buildkit":               "github.com/secgate/secgate/gate/dockerfile",
	}
	// Tests that read a file format another package owns.
	testOnly := map[string]bool{
		"github.com/goccy/go-yaml github.com/secgate/secgate/gate/github": true, // action.yml
		"github.com/goccy/go-yaml github.com/secgate/secgate/cmd/secgate": true, // templates/secgate.yml, README snippets
		// cosign's API speaks go-containerregistry's types (name.Digest,
		// remote options): signing shares the library with gate/image.
		"github.com/google/go-containerregistry github.com/secgate/secgate/gate/sign":          true,
		"github.com/google/go-containerregistry github.com/secgate/secgate/gate/sign/signtest": true,
		// Manifests are YAML read with line numbers, as the policy is.
		"github.com/goccy/go-yaml github.com/secgate/secgate/gate/manifests": true,
		// The history scan walks commits and diffs blobs with go-git; gate/repo opens the repository.
		"github.com/go-git/ github.com/secgate/secgate/gate/secrets": true,
		// The deps scanner reads a docker-archive's layers for its own image
		// filesystem (issue 30: instead of osv-scalibr's layerscanning, which
		// linked Docker's daemon client): go-containerregistry's tarball and
		// v1 types, nothing that reaches a registry or a daemon (below).
		"github.com/google/go-containerregistry github.com/secgate/secgate/gate/deps": true,
	}
	// The secret scanner's verification (secrets.verify) uses osv-scalibr's
	// veles validators: these packages, by name, and nothing else of
	// osv-scalibr (issue 28; their transitive closure is veles itself).
	velesValidators := map[string]bool{}
	for _, p := range []string{"veles", "veles/secrets/common/simplevalidate", "veles/secrets/anthropicapikey", "veles/secrets/digitaloceanapikey",
		"veles/secrets/github", "veles/secrets/gitlabpat", "veles/secrets/huggingfaceapikey", "veles/secrets/npmjsaccesstoken",
		"veles/secrets/openai", "veles/secrets/postmanapikey", "veles/secrets/sendgrid", "veles/secrets/slacktoken", "veles/secrets/stripeapikeys"} {
		velesValidators["github.com/google/osv-scalibr/"+p] = true
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		if strings.HasPrefix(pkg, "github.com/secgate/secgate/bench/") || strings.HasPrefix(pkg, "github.com/secgate/secgate/release") {
			continue // benchmark and release programs build images and read files with the libraries
		}
		for _, imp := range imports {
			if pkg == "github.com/secgate/secgate/gate/secrets" && velesValidators[imp] {
				continue
			}
			for lib, owner := range owners {
				// An owner's own test helpers (gate/image/imagetest) share its library.
				if strings.HasPrefix(imp, lib) && pkg != owner && !strings.HasPrefix(pkg, owner+"/") && !testOnly[lib+" "+pkg] {
					t.Errorf("%s imports %s, which only %s may import", pkg, imp, owner)
				}
			}
		}
	}

	// Signing links cosign's library packages only: its CLI packages and
	// provider registries pull in the cloud registry helpers, the AWS SDK
	// and Kubernetes' client (72 MB against 22 MB for a signing program).
	bin, err := exec.Command("go", "list", "-deps", "github.com/secgate/secgate/cmd/secgate").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, d := range strings.Fields(string(bin)) {
		for _, forbidden := range []string{
			"github.com/sigstore/cosign/v2/cmd/", "github.com/sigstore/cosign/v2/pkg/providers",
			"github.com/aws/aws-sdk-go", "k8s.io/client-go", "github.com/Azure/azure-sdk-for-go",
			"github.com/awslabs/amazon-ecr-credential-helper", "github.com/chrismellard/docker-credential-acr-env",
			"github.com/google/go-containerregistry/pkg/authn/k8schain", "github.com/aliyun",
		} {
			if strings.HasPrefix(d, forbidden) {
				t.Errorf("the secgate binary links %s (%s is forbidden)", d, forbidden)
			}
		}
	}

	// The deps scanner links osv-scalibr's packages one by one (issue 30):
	// the extractors the gate runs, chosen by name in gate/deps/extractors.go,
	// the two matchers and the plumbing between them. The registries that
	// import every plugin (Windows PE and registry readers, disk images,
	// RPM's SQLite, the secret validators: 1,747 packages and a 66 MB binary
	// with osv-scanner's scanner, 1,308 and 48 MB without) stay out: a
	// package not listed here is a decision to take with its measured cost.
	// osv-scanner is the reference engine of gate/deps' tests only: a build
	// of the binary does not even download its module.
	scalibrAllowed := map[string]bool{}
	for _, p := range []string{
		"binary/proto/config_go_proto", "enricher", "enricher/vulnmatch/osvdev", "enricher/vulnmatch/osvlocal",
		"extractor", "extractor/filesystem", "extractor/filesystem/simplefileapi", "extractor/filesystem/osv",
		"fs", "inventory", "log", "plugin", "plugin/config", "purl", "semantic", "stats",
		"extractor/filesystem/language/cpp/conanlock", "extractor/filesystem/language/dart/pubspec",
		"extractor/filesystem/language/dotnet/csproj", "extractor/filesystem/language/dotnet/depsjson",
		"extractor/filesystem/language/dotnet/nugetcpm", "extractor/filesystem/language/dotnet/packagesconfig",
		"extractor/filesystem/language/dotnet/packageslockjson", "extractor/filesystem/language/erlang/mixlock",
		"extractor/filesystem/language/golang/gobinary", "extractor/filesystem/language/golang/gomod",
		"extractor/filesystem/language/haskell/cabal", "extractor/filesystem/language/haskell/stacklock",
		"extractor/filesystem/language/java/archive", "extractor/filesystem/language/java/archive/metadata",
		"extractor/filesystem/language/java/gradlelockfile", "extractor/filesystem/language/java/gradleverificationmetadataxml",
		"extractor/filesystem/language/java/pomxml", "extractor/filesystem/language/javascript/bunlock",
		"extractor/filesystem/language/javascript/packagelockjson", "extractor/filesystem/language/javascript/pnpmlock",
		"extractor/filesystem/language/javascript/yarnlock", "extractor/filesystem/language/php/composerlock",
		"extractor/filesystem/language/python/pdmlock", "extractor/filesystem/language/python/pipfilelock",
		"extractor/filesystem/language/python/poetrylock", "extractor/filesystem/language/python/pylock",
		"extractor/filesystem/language/python/requirements", "extractor/filesystem/language/python/uvlock",
		"extractor/filesystem/language/python/wheelegg", "extractor/filesystem/language/r/renvlock",
		"extractor/filesystem/language/ruby/gemfilelock", "extractor/filesystem/language/rust/cargoauditable",
		"extractor/filesystem/language/rust/cargolock", "extractor/filesystem/language/swift/packageresolved",
		"extractor/filesystem/os/apk", "extractor/filesystem/os/apk/metadata", "extractor/filesystem/os/chisel",
		"extractor/filesystem/os/dpkg", "extractor/filesystem/os/dpkg/metadata", "extractor/filesystem/os/homebrew",
		"extractor/filesystem/os/osrelease",
		"extractor/filesystem/sbom/cdx", "extractor/filesystem/sbom/cdx/metadata", "extractor/filesystem/sbom/spdx",
	} {
		scalibrAllowed["github.com/google/osv-scalibr/"+p] = true
	}
	imports, err := exec.Command("go", "list", "-f", "{{join .Imports \"\\n\"}}", "github.com/secgate/secgate/gate/deps").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, imp := range strings.Fields(string(imports)) {
		switch {
		case strings.HasPrefix(imp, "github.com/google/go-containerregistry/") && imp != "github.com/google/go-containerregistry/pkg/v1" &&
			imp != "github.com/google/go-containerregistry/pkg/v1/tarball":
			t.Errorf("gate/deps imports %s: it reads docker-archive files only (pkg/v1, pkg/v1/tarball)", imp)
		case strings.HasPrefix(imp, "github.com/google/osv-scalibr") && !scalibrAllowed[imp]:
			t.Errorf("gate/deps imports %s, which is not in the osv-scalibr allowlist", imp)
		case strings.HasPrefix(imp, "github.com/google/osv-scanner/"):
			t.Errorf("gate/deps imports %s: osv-scanner is the tests' reference engine only", imp)
		}
	}
	for _, d := range strings.Fields(string(bin)) {
		switch {
		case d == "github.com/google/osv-scalibr", strings.HasSuffix(d, "/list") && strings.HasPrefix(d, "github.com/google/osv-scalibr/"),
			d == "github.com/google/osv-scalibr/enricher/enricherlist",
			strings.HasPrefix(d, "github.com/google/osv-scanner/"):
			t.Errorf("the secgate binary links %s (a plugin registry or osv-scanner's scanner)", d)
		case strings.HasPrefix(d, "github.com/google/osv-scalibr/artifact/image/layerscanning"),
			strings.HasPrefix(d, "github.com/moby/moby/client"),
			strings.HasPrefix(d, "go.opentelemetry.io/contrib/instrumentation/net/http"):
			// The image reader is gate/deps' own (issue 30): layerscanning
			// linked Docker's daemon client and OpenTelemetry's HTTP
			// instrumentation for a tarball the gate reads itself.
			t.Errorf("the secgate binary links %s (osv-scalibr's layerscanning or what only it needed)", d)
		}
	}

	deps, err := exec.Command("go", "list", "-deps", "github.com/secgate/secgate/policy").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, forbidden := range []string{"net/http", "os/exec", "github.com/zricethezav/gitleaks/v8/detect"} {
		for _, d := range strings.Fields(string(deps)) {
			if d == forbidden {
				t.Errorf("policy depends on %s: it must stay pure", forbidden)
			}
		}
	}
}

// The platform layer's floors (issue 27): gate/ci, the interface and its
// value types, imports no platform and not the gate; a platform imports
// neither another platform nor the pipeline that lists them; cmd/secgate
// reaches a platform only through the pipeline. Nothing imports in a
// circle, and a platform's code lives in its own package.
func TestPlatformLayering(t *testing.T) {
	const mod = "github.com/secgate/secgate/"
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	platforms := []string{mod + "gate/github", mod + "gate/gitlab"}
	forbidden := map[string][]string{
		mod + "gate/ci":     append([]string{mod + "gate", mod + "gate/pipeline"}, platforms...),
		mod + "gate/github": {mod + "gate/gitlab", mod + "gate/pipeline", mod + "gate"},
		mod + "gate/gitlab": {mod + "gate/github", mod + "gate/pipeline", mod + "gate"},
		mod + "gate":        append([]string{mod + "gate/ci", mod + "gate/pipeline"}, platforms...),
		mod + "cmd/secgate": platforms,
		mod + "gate/issues": append([]string{mod + "gate/ci", mod + "gate/pipeline"}, platforms...),
		mod + "gate/report": append([]string{mod + "gate/ci", mod + "gate/pipeline"}, platforms...),
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		bad, ok := forbidden[pkg]
		if !ok {
			continue
		}
		seen[pkg] = true
		for _, imp := range imports {
			for _, b := range bad {
				if imp == b {
					t.Errorf("%s imports %s: see the README's Layout (the platform layer)", pkg, imp)
				}
			}
		}
	}
	for pkg := range forbidden {
		if !seen[pkg] {
			t.Errorf("%s: no such package (the layering table is out of date)", pkg)
		}
	}
}
