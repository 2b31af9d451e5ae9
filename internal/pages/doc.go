// Package pages serves /oauth/authorize and the hosted customer journey
// (PRODUCT A1-A11): sign-in with an emailed one-time code, sign-up,
// consent, connected apps and sign-out, as server-rendered HTML that works
// without JavaScript, in English and German.
//
// Protocol decisions live in oauth; pages loads, asks oauth, commits and
// renders. It must not import server or api.
package pages
