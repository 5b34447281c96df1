package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/secgate/secgate/gate"
	"github.com/secgate/secgate/gate/image"
	"github.com/secgate/secgate/gate/render"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/sign"
	"github.com/secgate/secgate/policy"
	"github.com/spf13/cobra"
)

// signFlags are run's signing flags.
type signFlags struct {
	sign       bool
	key        string
	tlogUpload bool
	rekorURL   string
	fulcioURL  string
	// trustedRoot checks Fulcio's and Rekor's answers before the push.
	trustedRoot string
}

// signStep signs the images of a passing report (see gate.SignImages):
// with the key from --sign-key or COSIGN_PRIVATE_KEY (loaded first: a bad
// key or password is an error whatever the verdict), else keylessly with
// the CI's OIDC token. A failure makes the verdict error: a deploy that
// requires the signature must not read "pass" without one.
func signStep(ctx context.Context, rep *report.Report, f signFlags, docs attestedDocs, dryRun bool, env lookupEnv, creds []gate.RegistryCredential, fork bool) error {
	getenv := func(k string) string { v, _ := env(k); return v }
	base := sign.Options{
		TlogUpload: f.tlogUpload, RekorURL: f.rekorURL, FulcioURL: f.fulcioURL, TrustedRoot: f.trustedRoot,
		Keychain: image.Keychain(creds), UserAgent: "secgate/" + version,
	}
	o := gate.SignOptions{
		DryRun: dryRun, Version: version, Now: time.Now(),
		Commit: firstEnv(getenv, "GITHUB_SHA", "CI_COMMIT_SHA"), Repository: firstEnv(getenv, "GITHUB_REPOSITORY", "CI_PROJECT_PATH"),
		RunURL:     runURL(getenv),
		SBOMFormat: docs.sbomFormat, VEXAuthor: docs.vexAuthor,
	}
	err := func() error {
		if dryRun {
			return nil
		}
		key, from, err := sign.KeyFromEnv(f.key, getenv)
		if err != nil {
			return err
		}
		if key != nil {
			ko := base
			ko.Key, ko.KeyFile, ko.Password = key, from, []byte(getenv("COSIGN_PASSWORD"))
			s, err := sign.New(ctx, ko)
			if err != nil {
				return err
			}
			o.NewSigner = func(context.Context) (gate.Signer, error) { return s, nil }
			return nil
		}
		o.NewSigner = func(ctx context.Context) (gate.Signer, error) {
			tok, err := sign.IDToken(ctx, getenv, nil)
			if err != nil {
				return nil, err
			}
			if tok == "" {
				return nil, errors.New("no OIDC token")
			}
			ko := base
			ko.IDToken = tok
			return sign.New(ctx, ko)
		}
		if tok := getenv("SIGSTORE_ID_TOKEN") + getenv("ACTIONS_ID_TOKEN_REQUEST_URL"); tok == "" {
			o.NewSigner = nil
			o.Unavailable = "no signing identity: give a cosign key (--sign-key, or COSIGN_PRIVATE_KEY with COSIGN_PASSWORD) or an OIDC token (GitHub: permissions id-token: write; GitLab: id_tokens SIGSTORE_ID_TOKEN with aud sigstore)"
			if fork {
				o.Unavailable = "a pull request from a fork gets no secrets and no OIDC token: nothing to sign with (sign on the base repository's push instead)"
			}
		}
		return nil
	}()
	if err == nil {
		err = gate.SignImages(ctx, rep, o)
		if err == nil && o.NewSigner == nil && !dryRun && !fork && rep.Verdict == policy.VerdictPass {
			rep.Warnings = append(rep.Warnings, "--sign: "+o.Unavailable)
		}
	} else {
		rep.Signature = &report.Signature{Reason: err.Error()}
	}
	if err != nil {
		rep.Fail(fmt.Errorf("signing: %w", err))
	}
	return err
}

func firstEnv(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}

func runURL(getenv func(string) string) string {
	if s, r, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID"); s != "" && r != "" && id != "" {
		return s + "/" + r + "/actions/runs/" + id
	}
	return getenv("CI_JOB_URL")
}

func newVerifyCmd(stdout io.Writer, env lookupEnv) *cobra.Command {
	var (
		o          sign.VerifyOptions
		keyFile    string
		tlogUpload bool
		maxAge     string
		format     string
		ignoreTlog bool
	)
	cmd := &cobra.Command{
		Use:   "verify IMAGE",
		Short: "Check that an image passed the gate: its signature and its verdict attestation",
		Long: `Check that IMAGE (a registry reference; a tag is resolved to its digest)
carries a signature by the given identity and a verdict attestation, signed
by the same identity, that says pass — recent enough (--max-age) and made
for the environment (--environment), when asked. For deploy jobs.
It lists the attestations the image carries by that identity;
--require sbom,vex refuses an image without its SBOM and VEX
attestations (run --sign attaches both).

Exit 0: verified. 1: not verified (the reason in one line). 2: could not
check (registry unreachable, a bad key file, bad flags).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return &exitCodeError{exitError, fmt.Errorf("--format %q: text or json", format)}
			}
			if err := verifyArgs(args[0], keyFile, o); err != nil {
				return &exitCodeError{exitError, err}
			}
			if keyFile != "" {
				b, err := os.ReadFile(keyFile)
				if err != nil {
					return &exitCodeError{exitError, fmt.Errorf("reading the public key: %w", err)}
				}
				o.Key, o.KeyFile = b, keyFile
			}
			if maxAge != "" {
				d, err := policy.ParseAge(maxAge)
				if err != nil {
					return &exitCodeError{exitError, fmt.Errorf("--max-age %q: %w", maxAge, err)}
				}
				o.MaxAge = d
			}
			o.IgnoreTlog = !tlogUpload || ignoreTlog
			creds, _ := registryAccess(env)
			o.Keychain = image.Keychain(creds)
			v, err := sign.Verify(cmd.Context(), args[0], o)
			var nv *sign.NotVerified
			switch {
			case errors.As(err, &nv):
				fmt.Fprintf(stdout, "NOT VERIFIED %s\n", nv.Reason)
				return &exitCodeError{code: exitFail}
			case err != nil:
				return &exitCodeError{exitError, err}
			}
			if format == "json" {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			env := v.Verdict.Environment
			if env == "" {
				env = "no environment"
			}
			fmt.Fprintf(stdout, "VERIFIED %s\n  signed by %s\n  verdict %s (%s) at %s by secgate %s, policy %s\n  attestations: %s\n",
				v.Image, v.Identity, v.Verdict.Verdict, env, v.Verdict.Time.UTC().Format(time.RFC3339), v.Verdict.Gate.Version, policyName(v.Verdict.Policy), attestationList(v.Attestations))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&keyFile, "key", "", "public key (cosign.pub) of key-based signatures")
	fl.StringVar(&o.CertIdentity, "certificate-identity", "", "keyless: the signer's identity (e.g. https://github.com/ORG/REPO/.github/workflows/ci.yml@refs/heads/main)")
	fl.StringVar(&o.CertIdentityRegexp, "certificate-identity-regexp", "", "keyless: the signer's identity, a regular expression")
	fl.StringVar(&o.CertOIDCIssuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer (https://token.actions.githubusercontent.com, https://gitlab.com)")
	fl.StringVar(&o.CertOIDCIssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: the OIDC issuer, a regular expression")
	fl.StringVar(&o.TrustedRoot, "trusted-root", "", "Sigstore trusted root (JSON) of a private deployment (default: the public instance's, by TUF)")
	fl.BoolVar(&tlogUpload, "tlog-upload", true, "require the signatures' transparency-log entries (false for images signed with --tlog-upload=false)")
	fl.BoolVar(&ignoreTlog, "insecure-ignore-tlog", false, "cosign's name for --tlog-upload=false")
	fl.StringVar(&maxAge, "max-age", "", "refuse verdicts older than this (e.g. 7d, 12h)")
	fl.StringVar(&o.Environment, "environment", "", "require a verdict made for this environment (e.g. production)")
	fl.StringVar(&format, "format", "text", "output: text or json")
	fl.StringSliceVar(&o.Require, "require", nil, "also require these attestations by the same identity, comma-separated: "+strings.Join(sign.Requirable, ", "))
	return cmd
}

// attestationList names the attestations an image carries, one kind with
// its predicate type each: "verdict, sbom (https://cyclonedx.org/bom)".
func attestationList(atts []sign.Attestation) string {
	var out []string
	for _, a := range atts {
		switch a.Kind {
		case sign.KindVerdict:
			out = append(out, a.Kind)
		case "":
			out = append(out, a.PredicateType)
		default:
			out = append(out, a.Kind+" ("+a.PredicateType+")")
		}
	}
	// A predicate type is whatever the signer wrote: shown as text only.
	return render.Terminal(strings.Join(out, ", "))
}

// verifyArgs refuses what verify would otherwise get wrong: a local
// image source read as a registry reference (docker-archive:FILE parses as
// a repository named docker-archive), and a certificate identity next to
// a key, which is never checked (a key's signature has no certificate).
func verifyArgs(image, keyFile string, o sign.VerifyOptions) error {
	for _, prefix := range []string{"docker-archive:", "oci-layout:", "docker-daemon:"} {
		if strings.HasPrefix(image, prefix) {
			return fmt.Errorf("verify %s: signatures live in a registry; verify checks a registry reference (REGISTRY/REPOSITORY:TAG or @sha256:...), not a %s source", image, strings.TrimSuffix(prefix, ":"))
		}
	}
	if keyFile != "" && (o.CertIdentity != "" || o.CertIdentityRegexp != "" || o.CertOIDCIssuer != "" || o.CertOIDCIssuerRegexp != "") {
		return errors.New("--key with --certificate-identity/--certificate-oidc-issuer: a key's signature has no certificate, so the identity would never be checked; give one or the other")
	}
	return nil
}

func policyName(p sign.PolicySource) string {
	name := p.File
	if name == "" {
		name = "built-in"
	}
	if d := strings.TrimPrefix(p.Digest, "sha256:"); len(d) >= 12 {
		name += " (sha256:" + d[:12] + ")"
	}
	return name
}
