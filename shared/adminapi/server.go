package adminapi

import (
	"net/http"

	"github.com/inmor/inmor-serverless/shared/apperr"
	"github.com/inmor/inmor-serverless/shared/resource"
)

// entityStatementBody is the answer of the entity configuration routes.
type entityStatementBody struct {
	EntityStatement string `json:"entity_statement"`
}

// messageBody is Inmor's {"message", "id"} answer.
type messageBody struct {
	Message string `json:"message"`
	ID      int64  `json:"id"`
}

// msgNoServerEntity answers a read of an entity configuration never signed.
const msgNoServerEntity = "The server's entity configuration has not been created."

// serverHandlers serve the trust anchor's own statements (the /server/*
// routes), which the subordinates function signs with the same key.
func serverHandlers(svc resource.Server) map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"createServerEntity": withBody(http.StatusCreated, func(r *http.Request) (entityStatementBody, error) {
			e, err := svc.SignEntityConfiguration(r.Context(), attribution(r))
			return entityStatementBody{e.Statement}, err
		}),
		"getServerEntity": withBody(http.StatusOK, func(r *http.Request) (entityStatementBody, error) {
			e, err := svc.Store.ServerEntity(r.Context())
			if apperr.Is(apperr.NotFound, err) {
				err = apperr.New(apperr.NotFound, 0, msgNoServerEntity)
			}
			return entityStatementBody{e.Statement}, err
		}),
		"createHistoricalKeys": withBody(http.StatusCreated, func(r *http.Request) (messageBody, error) {
			_, n, err := svc.SignHistoricalKeys(r.Context(), attribution(r))
			return messageBody{Message: resource.HistoricalKeysMessage(n)}, err
		}),
	}
}
