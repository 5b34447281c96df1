package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/secgate/secgate/gate/pipeline"
	"github.com/spf13/pflag"

	"github.com/secgate/secgate/gate/image"
	"github.com/secgate/secgate/gate/render"
	"github.com/secgate/secgate/gate/sign"
	"github.com/secgate/secgate/policy"
	"github.com/spf13/cobra"
)

// registerSignFlags binds run's signing flags.
func registerSignFlags(fl *pflag.FlagSet, o *pipeline.SignOptions) {
	fl.BoolVar(&o.Sign, "sign", false, "in CI, cosign-sign the images that pass (by digest) and attach a signed verdict attestation")
	fl.StringVar(&o.Key, "sign-key", "", "cosign private key file (default: COSIGN_PRIVATE_KEY, with COSIGN_PASSWORD); without a key, keyless signing with the CI's OIDC token")
	fl.BoolVar(&o.TlogUpload, "tlog-upload", true, "record signatures in the Rekor transparency log (false: for air-gapped registries; key-based signing only)")
	fl.StringVar(&o.RekorURL, "rekor-url", sign.DefaultRekorURL, "Rekor transparency log URL")
	fl.StringVar(&o.FulcioURL, "fulcio-url", sign.DefaultFulcioURL, "Fulcio URL, for keyless signing")
	fl.StringVar(&o.TrustedRoot, "trusted-root", "", "Sigstore trusted root (JSON): check what Fulcio and Rekor returned against it before pushing")
}

// verifyFlags are verify's flags.
type verifyFlags struct {
	o          sign.VerifyOptions
	keyFile    string
	tlogUpload bool
	maxAge     string
	format     string
	ignoreTlog bool
}

func newVerifyCmd(stdout io.Writer, env lookupEnv) *cobra.Command {
	var f verifyFlags
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
			o, err := f.options(args[0])
			if err != nil {
				return &exitCodeError{exitError, err}
			}
			o.Keychain = image.Keychain(pipeline.RegistryCredentials(func(k string) string { v, _ := env(k); return v }))
			v, err := sign.Verify(cmd.Context(), args[0], o)
			var nv *sign.NotVerified
			switch {
			case errors.As(err, &nv):
				fmt.Fprintf(stdout, "NOT VERIFIED %s\n", nv.Reason)
				return &exitCodeError{code: exitFail}
			case err != nil:
				return &exitCodeError{exitError, err}
			}
			return printVerified(stdout, v, f.format)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// options checks verify's flags and reads the key file.
func (f verifyFlags) options(image string) (sign.VerifyOptions, error) {
	o := f.o
	if f.format != "text" && f.format != "json" {
		return o, fmt.Errorf("--format %q: text or json", f.format)
	}
	if err := verifyArgs(image, f.keyFile, o); err != nil {
		return o, err
	}
	if f.keyFile != "" {
		b, err := os.ReadFile(f.keyFile)
		if err != nil {
			return o, fmt.Errorf("reading the public key: %w", err)
		}
		o.Key, o.KeyFile = b, f.keyFile
	}
	if f.maxAge != "" {
		d, err := policy.ParseAge(f.maxAge)
		if err != nil {
			return o, fmt.Errorf("--max-age %q: %w", f.maxAge, err)
		}
		o.MaxAge = d
	}
	o.IgnoreTlog = !f.tlogUpload || f.ignoreTlog
	return o, nil
}

// printVerified writes a verified image's signer, verdict and attestations.
func printVerified(stdout io.Writer, v sign.Verified, format string) error {
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
}

// register binds verify's flags.
func (f *verifyFlags) register(fl *pflag.FlagSet) {
	o := &f.o
	fl.StringVar(&f.keyFile, "key", "", "public key (cosign.pub) of key-based signatures")
	fl.StringVar(&o.CertIdentity, "certificate-identity", "", "keyless: the signer's identity (e.g. https://github.com/ORG/REPO/.github/workflows/ci.yml@refs/heads/main)")
	fl.StringVar(&o.CertIdentityRegexp, "certificate-identity-regexp", "", "keyless: the signer's identity, a regular expression")
	fl.StringVar(&o.CertOIDCIssuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer (https://token.actions.githubusercontent.com, https://gitlab.com)")
	fl.StringVar(&o.CertOIDCIssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: the OIDC issuer, a regular expression")
	fl.StringVar(&o.TrustedRoot, "trusted-root", "", "Sigstore trusted root (JSON) of a private deployment (default: the public instance's, by TUF)")
	fl.BoolVar(&f.tlogUpload, "tlog-upload", true, "require the signatures' transparency-log entries (false for images signed with --tlog-upload=false)")
	fl.BoolVar(&f.ignoreTlog, "insecure-ignore-tlog", false, "cosign's name for --tlog-upload=false")
	fl.StringVar(&f.maxAge, "max-age", "", "refuse verdicts older than this (e.g. 7d, 12h)")
	fl.StringVar(&o.Environment, "environment", "", "require a verdict made for this environment (e.g. production)")
	fl.StringVar(&f.format, "format", "text", "output: text or json")
	fl.StringSliceVar(&o.Require, "require", nil, "also require these attestations by the same identity, comma-separated: "+strings.Join(sign.Requirable, ", "))
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
