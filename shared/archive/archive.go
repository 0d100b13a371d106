// Package archive keeps a copy of the audit log's checkpoints in S3
// (integrity.Archive), in a bucket whose Object Lock default retention, in
// compliance mode, no one can shorten, the account root included. Locally
// moto serves the bucket.
package archive

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/inmor/inmor-serverless/shared/integrity"
)

// EnvBucket names the bucket of the checkpoints' copies.
const EnvBucket = "AUDIT_CHECKPOINT_BUCKET"

// KeyPrefix starts the key of every checkpoint: checkpoints/<20-digit size>.
const KeyPrefix = "checkpoints/"

// S3API is the part of the S3 client the archive uses.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// S3 is an integrity.Archive in an S3 bucket.
type S3 struct {
	Client S3API
	Bucket string
}

var _ integrity.Archive = (*S3)(nil)

// Key is the object key of the checkpoint of a tree size.
func Key(size int64) string { return fmt.Sprintf("%s%020d", KeyPrefix, size) }

// PutCheckpoint implements integrity.Archive: one PutObject (with a
// checksum, as Object Lock requires); the bucket's default retention locks it.
func (a *S3) PutCheckpoint(ctx context.Context, size int64, signed string) error {
	_, err := a.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(a.Bucket), Key: aws.String(Key(size)), Body: strings.NewReader(signed),
		ContentType: aws.String("text/plain; charset=utf-8"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
	})
	if err != nil {
		return fmt.Errorf("archive checkpoint %d: %w", size, err)
	}
	return nil
}
