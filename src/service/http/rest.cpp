#include "service/http/rest.hpp"

#include "service/http/body.hpp"

namespace keepgpu::service::http {
namespace {

Reply from_rest_reply(const RestReply& reply) {
  return json_reply(reply.status, reply.body);
}

// Errors of the path forms (status, stop): bad ids are 400 without the "Bad request: " prefix.
template <typename Call>
Reply path_call(Call&& call) {
  try {
    return json_reply(200, call());
  } catch (const ApiError& error) {
    if (error.code() == kInvalidParams) return error_reply(400, error.what());
    if (error.code() == kStartupUnavailable) {
      return typed_error_reply(503, error.what(), error.type());
    }
    return typed_error_reply(500, error.what(), error.type());
  } catch (const std::exception& error) {
    return typed_error_reply(500, error.what(), "RuntimeError");
  }
}

nlohmann::json job_params(const std::optional<std::string>& job_id) {
  nlohmann::json params = nlohmann::json::object();
  if (job_id) params["job_id"] = *job_id;
  return params;
}

}  // namespace

Reply rest_list_gpus(Api& api) {
  try {
    return from_rest_reply(api.rest_list_gpus());
  } catch (const ApiError& error) {
    if (error.code() == kStartupUnavailable) {
      return typed_error_reply(503, error.what(), "DeviceEnumerationUnavailableError");
    }
    return typed_error_reply(500, error.what(), error.type());
  } catch (const std::exception& error) {
    return typed_error_reply(500, error.what(), "RuntimeError");
  }
}

Reply rest_status(Api& api, const std::optional<std::string>& job_id) {
  return path_call([&] { return api.status(job_params(job_id)); });
}

Reply rest_stop(Api& api, const std::optional<std::string>& job_id) {
  return path_call([&] { return api.stop_keep(job_params(job_id)); });
}

Reply rest_create(Api& api, std::string_view body) {
  nlohmann::json request;
  try {
    request = decode_json_body(body);
  } catch (const BodyError& error) {
    return error_reply(400, std::string("Bad request: ") + error.what());
  }
  // Api answers every expected outcome as a RestReply; these catch what escapes it.
  try {
    return from_rest_reply(api.rest_create_session(request));
  } catch (const ApiError& error) {
    if (error.code() == kInvalidParams) {
      return error_reply(400, std::string("Bad request: ") + error.what());
    }
    if (error.code() == kStartupUnavailable) {
      return typed_error_reply(503, error.what(), "SessionStartupUnavailable");
    }
    return typed_error_reply(500, error.what(), error.type());
  } catch (const std::exception& error) {
    return typed_error_reply(500, error.what(), "RuntimeError");
  }
}

}  // namespace keepgpu::service::http
