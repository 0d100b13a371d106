// Package events holds sample Lambda events: an API Gateway HTTP API
// (payload 2.0) request for each route under apigw/, and DynamoDB stream
// batches of the resources table under stream/. Tests run each through its
// handler; they also document what the functions receive.
package events

import "embed"

// Samples holds every sample event file.
//
//go:embed apigw/*.json stream/*.json
var Samples embed.FS
