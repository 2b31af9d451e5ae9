// Package config holds the settings as one struct with a table that binds
// each to its flag, NOMOSAUTH_* variable, default and help line (flag beats
// environment beats default), and Validate, which reports every problem at
// once. It reads nothing itself: cli hands it arguments and getenv.
package config
