// Package problem owns the one error type of nomosauth and its constructors.
// Each constructor names a situation and returns a fresh value. It imports
// nothing of ours.
package problem
