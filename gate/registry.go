package gate

import (
	"context"
	"log/slog"

	"github.com/secgate/secgate/gate/deps"
	"github.com/secgate/secgate/gate/dockerfile"
	"github.com/secgate/secgate/gate/image"
	"github.com/secgate/secgate/gate/manifests"
	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/gate/secrets"
	"github.com/secgate/secgate/policy"
)

// Registration is everything the gate knows of one scanner. Adding a
// scanner is adding one Registration to registry: the CLI's --only/--skip,
// the policy's skip_on_error and check ids, the report and every platform
// output read them from here.
type Registration struct {
	Name    string         // in --only/--skip, skip_on_error, the report
	Section string         // its section of .secgate.yml
	Checks  []policy.Check // its check catalogue
	// Ready says whether the run has what the scanner reads (images,
	// a base revision, ...); when not, why. A scanner that is not ready is
	// left out, or is an error when asked for by name.
	Ready func(Config) (ok bool, why string)
	// Build makes the scanner for a run.
	Build func(Config, *policy.Policy, *slog.Logger) (Scanner, error)
}

// registry lists the scanners of this build, in report order.
var registry = []Registration{
	{
		Name: "secrets", Section: "secrets",
		Checks: []policy.Check{{ID: "secret", Title: "Leaked credential",
			Help: "A credential in the code or its history (a gitleaks rule, or one of secgate's): it is exposed until revoked and rotated. Tier: secrets.tier."}},
		Ready: always,
		Build: func(c Config, pol *policy.Policy, log *slog.Logger) (Scanner, error) {
			store, err := c.openCache(log, true)
			if err != nil {
				return nil, err
			}
			return secrets.New(secrets.Options{
				Cache: store, CacheVersion: c.Version + " " + engineVersions()["secrets"],
				Root: c.Path, History: c.History, Base: c.Base, Head: c.Head,
				// On a pull/merge request, .gitleaks.toml and .gitleaksignore
				// are the base revision's: the change cannot loosen them.
				ConfigRevision: c.Base,
				RequireFiles:   pol.SecretsRequireFiles,
				// past an archive's decompression bound: fail, or skip it
				SkipArchiveBounds: pol.SecretsSkipArchives,
				FingerprintKey:    c.FingerprintKey, Logger: log,
				Verify:       c.secretsVerify(pol),
				VerifyDryRun: pol.SecretsVerify && c.DryRun && !c.VerifySecrets,
			}), nil
		},
	},
	{
		Name: "deps", Section: "deps",
		Checks: []policy.Check{{ID: "vulnerability", Title: "Known vulnerability in a dependency",
			Help: "An OSV advisory affects an installed version. Tier: the CVSS base score of the advisory's vector."}},
		Ready: always,
		Build: func(c Config, pol *policy.Policy, log *slog.Logger) (Scanner, error) {
			export := func(ctx context.Context, ref string) (string, func(), error) {
				return image.Export(ctx, ref, image.Options{Platforms: c.Platforms, Credentials: c.RegistryCredentials, DockerHost: c.DockerHost, ScratchDir: repo.GitDir(c.Path), Logger: log})
			}
			store, err := c.openCache(log, false)
			if err != nil {
				return nil, err
			}
			digest := func(ctx context.Context, ref string) (string, error) {
				return image.Digest(ctx, ref, image.Options{Platforms: c.Platforms, Credentials: c.RegistryCredentials, DockerHost: c.DockerHost, ScratchDir: repo.GitDir(c.Path), Logger: log})
			}
			return deps.New(deps.Options{
				Cache: store, CacheVersion: c.Version + " " + engineVersions()["deps"], ImageDigest: digest,
				ExportImage: export,
				Root:        c.Path, Lockfiles: c.Lockfiles, Exclude: pol.DepsExclude, Images: c.Images,
				OfflineDB: c.OfflineDB, DownloadDB: c.DownloadDB, APIURL: c.OSVAPIURL, Base: c.Base,
				SkipUnparsable:   pol.DepsUnparsable == policy.ActionReport,
				LockfilePatterns: pol.DepsLockfilePatterns,
				MaxDBAge:         pol.DepsMaxDBAge,
				// Without an offline database, KEV and EPSS are fetched at
				// run time for the floors that are on (issue 28).
				FetchRisk: true, KEVOff: pol.DepsKEV == policy.SeverityUnset, EPSSOff: pol.DepsEPSSTier == policy.SeverityUnset,
				CacheDir: c.CacheDir, KEVURL: c.KEVURL, EPSSURL: c.EPSSURL,
				RequireLockfiles: pol.DepsRequireLockfiles,
				EOLProducts:      image.EOLProducts(), // --download-db fetches the end-of-life data too (issue 28)
				Now:              c.Now, Logger: log,
			}), nil
		},
	},
	{
		Name: "image", Section: "image", Checks: image.Checks,
		Ready: func(c Config) (bool, string) { return len(c.Images) > 0, "no image was given (images)" },
		Build: func(c Config, pol *policy.Policy, log *slog.Logger) (Scanner, error) {
			text, err := secrets.NewTextScanner(c.FingerprintKey)
			if err != nil {
				return nil, err
			}
			store, err := c.openCache(log, false)
			if err != nil {
				return nil, err
			}
			return image.New(image.Options{
				Cache: store, CacheVersion: c.Version + " " + engineVersions()["image"],
				Refs: c.Images, Platforms: c.Platforms, MaxSize: pol.ImageMaxSize, MaxWasted: pol.ImageMaxWasted, Tiers: checkTiers(pol, image.Checks),
				Secrets: text, Credentials: c.RegistryCredentials, DockerHost: c.DockerHost, ScratchDir: repo.GitDir(c.Path), Logger: log,
				EOLDir: c.OfflineDB, Now: c.Now, // DIR/eol/<product>.json replaces the embedded end-of-life table (issue 28)
			}), nil
		},
	},
	{
		Name: "manifests", Section: "manifests", Checks: manifests.Checks,
		Ready: always,
		Build: func(c Config, pol *policy.Policy, log *slog.Logger) (Scanner, error) {
			store, err := c.openCache(log, false)
			if err != nil {
				return nil, err
			}
			// The build's version names the checks and go-yaml (a dev
			// build: the binary itself, cli.cacheVersion).
			return manifests.New(manifests.Options{Root: c.Path, Tiers: checkTiers(pol, manifests.Checks), Exclude: pol.ManifestsExclude, Logger: log,
				Cache: store, CacheVersion: c.Version, Now: c.Now}), nil
		},
	},
	{
		Name: "dockerfile", Section: "dockerfile", Checks: dockerfile.Checks,
		Ready: always,
		Build: func(c Config, pol *policy.Policy, log *slog.Logger) (Scanner, error) {
			text, err := secrets.NewTextScanner(c.FingerprintKey)
			if err != nil {
				return nil, err
			}
			return dockerfile.New(dockerfile.Options{Root: c.Path, Tiers: checkTiers(pol, dockerfile.Checks), Exclude: pol.DockerfileExclude, Secrets: text, Logger: log}), nil
		},
	},
	{
		Name: "config", Section: "config", Checks: configChecks,
		Ready: func(c Config) (bool, string) {
			return c.Base != "", "it compares with a base revision, and none was given (base)"
		},
		Build: func(c Config, pol *policy.Policy, _ *slog.Logger) (Scanner, error) {
			return &configScanner{root: c.Path, base: c.Base, tier: pol.CheckTier(CheckConfigChanged, configChecks[0].Tier), vex: pol.VEXPaths, given: c.givenFiles()}, nil
		},
	},
}

func always(Config) (bool, string) { return true, "" }

// Catalogue is the registry as the policy sees it: scanner names,
// sections and checks.
func Catalogue() policy.Catalogue {
	cat := make(policy.Catalogue, 0, len(registry))
	for _, r := range registry {
		cat = append(cat, policy.ScannerInfo{Name: r.Name, Section: r.Section, Checks: r.Checks})
	}
	return cat
}

// ScannerNames are the names of the registered scanners, in report order.
func ScannerNames() []string { return Catalogue().Names() }

// checkTiers is the tier of each of a scanner's checks under the policy.
func checkTiers(pol *policy.Policy, checks []policy.Check) map[string]policy.Severity {
	tiers := map[string]policy.Severity{}
	for _, ch := range checks {
		tiers[ch.ID] = pol.CheckTier(ch.ID, ch.Tier)
	}
	return tiers
}

// secretsVerify is the secret scan's verification: on with
// --verify-secrets, or with the policy's secrets.verify outside a dry run;
// nil (off) otherwise. On a pull/merge request the policy is the base
// revision's: a change cannot turn it on to send values out.
func (c Config) secretsVerify(pol *policy.Policy) *secrets.Verify {
	if !c.VerifySecrets && !(pol.SecretsVerify && !c.DryRun) {
		return nil
	}
	return &secrets.Verify{Transport: c.SecretsTransport}
}
