package server

import (
	"net/http"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/ids"
)

func clientSpec(f *fixture, name string) admin.ClientSpec {
	return admin.ClientSpec{OrgID: f.client.OrgID, Name: name}
}

func hashOf(s string) string { return ids.Hash(s) }

func mustRequest(method, url string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	return req
}
