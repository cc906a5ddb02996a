package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rolegate/rolegate/models"
)

func benchUsers(n int) []*models.User {
	now := time.Now().UTC()
	var us []*models.User
	for i := range n {
		us = append(us, &models.User{ID: int64(i + 1), Username: "user0000123", Email: "user0000123@example.com", FirstName: "Ann", LastName: "Smith", Role: "user", IsActive: true, DateJoined: now, LastLogin: &now})
	}
	return us
}

func BenchmarkOneUserJSON(b *testing.B) {
	u := benchUsers(1)[0]
	for b.Loop() {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.JSON(http.StatusOK, toJSON(u))
	}
}

func BenchmarkOneUserHand(b *testing.B) {
	u := benchUsers(1)[0]
	for b.Loop() {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		writeUser(c, http.StatusOK, u)
	}
}

func BenchmarkPageJSON(b *testing.B) {
	us := benchUsers(100)
	for b.Loop() {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		results := make([]userJSON, len(us))
		for i, u := range us {
			results[i] = toJSON(u)
		}
		c.JSON(http.StatusOK, gin.H{"results": results, "next": nil})
	}
}

func BenchmarkPageHand(b *testing.B) {
	us := benchUsers(100)
	for b.Loop() {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		writeUserPage(c, us, nil)
	}
}
