package app

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/inmor/inmor-serverless/shared/auth"
	"github.com/inmor/inmor-serverless/shared/mfa"
)

// EnvMFARequiredForStaff names the policy that refuses staff sessions
// without a second factor ("true"; anything else is off).
const EnvMFARequiredForStaff = "MFA_REQUIRED_FOR_STAFF"

// Logins are the password logins of the auth table, which ask users with
// a second factor for it, and the service that enrols and checks second
// factors (the login's second step). They need the MFA key: without it the
// function does not start, since no second factor could be checked.
func (c Config) Logins(client *dynamodb.Client) (auth.Logins, *mfa.Service, error) {
	if c.MFAKey == nil {
		return auth.Logins{}, nil, fmt.Errorf("the MFA key is not configured (%s, or the file %s)", EnvMFAKey, EnvMFAKeyFile)
	}
	secrets, err := mfa.NewSecretBox(c.MFAKey)
	if err != nil {
		return auth.Logins{}, nil, err
	}
	store := c.AuthStore(client)
	logins := auth.Logins{Users: store, Sessions: store, Throttle: store}
	second := &mfa.Service{Store: store, Logins: logins, Secrets: secrets}
	logins.SecondFactor = second
	second.Logins = logins
	return logins, second, nil
}
