// Static file resolution, with and without a built dashboard.
#include <gtest/gtest.h>

#include "service/http/static_files.hpp"

namespace keepgpu::service::http {
namespace {

const StaticFiles kBuilt({{"index.html", "<title>KeepGPU Control Deck</title>"},
                          {"assets/index.css", "body{}"},
                          {"assets/dashboard.js", "export{}"}});
const StaticFiles kNotBuilt;

std::string message_of(const Reply& reply) {
  return keepgpu::core::Json::parse(reply.body)["error"]["message"];
}

TEST(HttpStatic, ServesFilesWithTheirTypes) {
  const Reply index = kBuilt.serve("/", false);
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html");
  EXPECT_EQ(index.body, "<title>KeepGPU Control Deck</title>");
  EXPECT_EQ(kBuilt.serve("/index.html", false).status, 200);
  EXPECT_EQ(kBuilt.serve("/assets/index.css", false).content_type, "text/css");
  EXPECT_EQ(kBuilt.serve("/assets/dashboard.js", false).content_type, "text/javascript");
}

TEST(HttpStatic, HeadKeepsTheLength) {
  const Reply head = kBuilt.serve("/", true);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.head_only);
  EXPECT_FALSE(head.body.empty());  // the length announced; the server sends no bytes
}

TEST(HttpStatic, SpaFallback) {
  for (const char* path : {"/sessions/abc", "/apiary", "/.hidden", "/."}) {
    SCOPED_TRACE(path);
    const Reply reply = kBuilt.serve(path, false);
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.content_type, "text/html");
  }
  // A last component with an extension makes an asset request, which never falls back.
  EXPECT_EQ(kBuilt.serve("/notes.txt/", false).status, 404);
}

TEST(HttpStatic, MissingAssets) {
  for (const char* path :
       {"/assets/missing.js", "/missing.keepgpu-test.js", "/v1.2", "/assets", "/assets/",
        "/assets/../index.html", "/assets/%2e%2e/index.html", "/assets%2F%2e%2e/index.html"}) {
    SCOPED_TRACE(path);
    const Reply reply = kBuilt.serve(path, false);
    EXPECT_EQ(reply.status, 404);
    EXPECT_EQ(reply.content_type, "application/json");
    EXPECT_EQ(message_of(reply), "Static asset not found");
  }
}

TEST(HttpStatic, EscapingTheRootIsForbidden) {
  for (const char* path : {"/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2Fhealth"}) {
    SCOPED_TRACE(path);
    const Reply reply = kBuilt.serve(path, false);
    EXPECT_EQ(reply.status, 403);
    EXPECT_EQ(message_of(reply), "Forbidden");
  }
}

TEST(HttpStatic, WithoutADashboard) {
  EXPECT_EQ(message_of(kNotBuilt.serve("/", false)), "UI not built");
  EXPECT_EQ(kNotBuilt.serve("/", false).status, 404);
  EXPECT_EQ(message_of(kNotBuilt.serve("/some/client/route", false)), "UI not built");
  EXPECT_EQ(message_of(kNotBuilt.serve("/assets/index.css", false)), "Static asset not found");
  EXPECT_EQ(kNotBuilt.serve("/../../etc/passwd", false).status, 403);
}

}  // namespace
}  // namespace keepgpu::service::http
