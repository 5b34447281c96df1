package dockerfile

import "github.com/secgate/secgate/policy"

// Check ids, each with the practice it follows.
const (
	CheckRoot          = "dockerfile-runs-as-root"    // hadolint DL3002, trivy DS002, CIS Docker 4.1
	CheckBaseLatest    = "dockerfile-base-latest"     // hadolint DL3006/DL3007, trivy DS001
	CheckBaseDigest    = "dockerfile-base-no-digest"  // pinning by digest (SLSA, OpenSSF Scorecard Pinned-Dependencies)
	CheckBuildTools    = "dockerfile-build-tools"     // multi-stage builds (Docker's build best practices)
	CheckPackageCache  = "dockerfile-package-cache"   // hadolint DL3009, DL3018/DL3019, DL3042; trivy DS017, DS025
	CheckAddRemote     = "dockerfile-add-remote"      // hadolint DL3020, trivy DS005
	CheckCopyAll       = "dockerfile-copy-all"        // Docker: use a .dockerignore
	CheckSudo          = "dockerfile-sudo-nopasswd"   // the image checks' image-sudo-nopasswd, before the build
	CheckSudoInstalled = "dockerfile-sudo"            // hadolint DL3004, trivy DS010
	CheckChmod777      = "dockerfile-chmod-777"       // world-writable files
	CheckCurlPipe      = "dockerfile-curl-pipe-shell" // hadolint DL4006's family, OpenSSF Scorecard
	RuleSecretEnv      = "dockerfile-secret-env"      // a secret finding (the secrets tier), as the image's image-secret-env
)

// Checks is the catalogue, with default tiers: a NOPASSWD sudo rule high
// (root again, as the image check); the final stage as root, a :latest
// base, a remote ADD and curl | sh medium; the rest low. Secrets in ARG and
// ENV are secret findings, at the secrets tier.
var Checks = []policy.Check{
	{ID: CheckRoot, Tier: policy.Medium, Title: "The final stage runs as root",
		Help: "With no USER (or USER root) the container runs as root unless the platform says otherwise. End the final stage with a numeric non-root USER."},
	{ID: CheckBaseLatest, Tier: policy.Medium, Title: "A base image is :latest or untagged",
		Help: "The build changes whenever the tag moves. Use a version tag and its digest."},
	{ID: CheckBaseDigest, Tier: policy.Low, Title: "A base image has no digest",
		Help: "A tag can be re-pushed with other content. Add @sha256:… and let Dependabot or Renovate move it."},
	{ID: CheckBuildTools, Tier: policy.Low, Title: "A single-stage build ships its build tools",
		Help: "Compilers and toolchains in the final image: size and attack surface. Build in one stage, copy the result into a small final one."},
	{ID: CheckPackageCache, Tier: policy.Low, Title: "A package manager's cache is kept in the layer",
		Help: "apt lists, apk's index, pip's downloads: megabytes in every pull. Clean them in the same RUN (or use a cache mount)."},
	{ID: CheckAddRemote, Tier: policy.Medium, Title: "ADD of a remote URL without a checksum",
		Help: "Whatever the server returns goes into the image, unverified. Use ADD --checksum, or download and verify in a RUN."},
	{ID: CheckCopyAll, Tier: policy.Low, Title: "The whole build context is copied with no .dockerignore",
		Help: ".git, .env files and local credentials end up in a layer. Add a .dockerignore or copy only what is needed."},
	{ID: CheckSudo, Tier: policy.High, Title: "A NOPASSWD sudo rule is written",
		Help: "`app ALL=(ALL) NOPASSWD:ALL` gives the non-root user root back without a password: USER protects nothing."},
	{ID: CheckSudoInstalled, Tier: policy.Low, Title: "sudo is installed",
		Help: "A container has no use for sudo; it is a way back to root."},
	{ID: CheckChmod777, Tier: policy.Low, Title: "Files are made world-writable",
		Help: "Any process, any user can change them. Give the runtime user what it needs, no more."},
	{ID: CheckCurlPipe, Tier: policy.Medium, Title: "A downloaded script is piped into a shell",
		Help: "curl … | sh runs whatever the server sends at build time. Download, verify a checksum or signature, then run."},
}
