package apigw

import (
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// EventOptions describe what API Gateway adds to a request.
type EventOptions struct {
	RouteKey       string
	PathParameters map[string]string
	RequestID      string
	Now            time.Time
}

// NewEvent converts an HTTP request (whose body has been read into body)
// into the event API Gateway would send for it. The source IP comes from the
// connection, never from a header the client sent.
func NewEvent(r *http.Request, body []byte, o EventOptions) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if lower == "cookie" {
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lower] = strings.Join(values, ",")
	}
	if r.Host != "" {
		// net/http moves Host out of the headers; API Gateway sends it.
		headers["host"] = r.Host
	}
	query := map[string]string{}
	for name, values := range r.URL.Query() {
		query[name] = strings.Join(values, ",")
	}
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              o.RouteKey,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        o.PathParameters,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:   o.RouteKey,
			AccountID:  "000000000000",
			Stage:      "$default",
			RequestID:  o.RequestID,
			APIID:      "local",
			DomainName: r.Host,
			Time:       o.Now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:  o.Now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}
