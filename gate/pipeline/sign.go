package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/secgate/secgate/gate"
	"github.com/secgate/secgate/gate/image"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/gate/sign"
	"github.com/secgate/secgate/policy"
)

// SignOptions are run's signing flags.
type SignOptions struct {
	Sign       bool
	Key        string // --sign-key: a key file
	TlogUpload bool
	RekorURL   string
	FulcioURL  string
	// TrustedRoot checks Fulcio's and Rekor's answers before the push.
	TrustedRoot string
}

// signStep signs the images of a passing report (see gate.SignImages):
// with the key from --sign-key or COSIGN_PRIVATE_KEY (loaded first: a bad
// key or password is an error whatever the verdict), else keylessly with
// the CI's OIDC token. A failure makes the verdict error: a deploy that
// requires the signature must not read "pass" without one.
func signStep(ctx context.Context, s *State) error {
	if !s.Options.Sign.Sign {
		return nil
	}
	rep, fork := &s.Report, s.Range.Fork
	run := s.Platform.Run()
	// The SBOM and VEX attestations beside the verdict (always: see
	// gate.SignOptions), in the --sbom-format asked for.
	_, author := documentNames(s.Config, run.Repository)
	o := gate.SignOptions{
		DryRun: s.DryRun, Version: s.Options.Version, Now: time.Now(),
		Commit: run.Commit, Repository: run.Repository, RunURL: run.URL,
		SBOMFormat: s.Options.SBOM.Format, VEXAuthor: author,
	}
	err := s.signer(ctx, &o, fork)
	if err == nil {
		err = gate.SignImages(ctx, rep, o)
		if err == nil && o.NewSigner == nil && !s.DryRun && !fork && rep.Verdict == policy.VerdictPass {
			rep.Warnings = append(rep.Warnings, "--sign: "+o.Unavailable)
		}
	} else {
		rep.Signature = &report.Signature{Reason: err.Error()}
	}
	if err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	return nil
}

// signer sets o's signer: the key's, else a keyless one with the OIDC
// token, else none and why (o.Unavailable). A dry run signs nothing.
func (s *State) signer(ctx context.Context, o *gate.SignOptions, fork bool) error {
	if s.DryRun {
		return nil
	}
	f, getenv := s.Options.Sign, s.Env
	base := sign.Options{
		TlogUpload: f.TlogUpload, RekorURL: f.RekorURL, FulcioURL: f.FulcioURL, TrustedRoot: f.TrustedRoot,
		Keychain: image.Keychain(s.Config.RegistryCredentials), UserAgent: "secgate/" + s.Options.Version,
	}
	key, from, err := sign.KeyFromEnv(f.Key, getenv)
	if err != nil {
		return err
	}
	if key != nil {
		ko := base
		ko.Key, ko.KeyFile, ko.Password = key, from, []byte(getenv("COSIGN_PASSWORD"))
		signer, err := sign.New(ctx, ko)
		if err != nil {
			return err
		}
		o.NewSigner = func(context.Context) (gate.Signer, error) { return signer, nil }
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
}
