// Package signer makes the trust anchor's signer for the functions that
// sign (app.SignerFactory): AWS KMS when SIGNING_KMS_KEY_ID is set, else the
// private JWK in SIGNING_KEY_FILE. Only their binaries link the KMS client.
package signer

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/inmor/inmor-serverless/shared/resource"
	"github.com/inmor/inmor-serverless/shared/signing"
)

// FromEnv is the app.SignerFactory of the signing functions.
func FromEnv(ctx context.Context, cfg aws.Config, getenv func(string) string) (resource.PublishingSigner, error) {
	return signing.NewFromEnv(ctx, getenv, func() (signing.KMSAPI, error) { return kms.NewFromConfig(cfg), nil })
}
