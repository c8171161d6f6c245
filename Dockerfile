# ModelServer (samples/ModelServer) as a container image.
#
# The two base images are the operator's choice, given as build arguments (by their full name in the registry the
# build machine uses):
#   SDK_IMAGE      the .NET 10 SDK image         (Microsoft's "dotnet/sdk:10.0")
#   RUNTIME_IMAGE  the ASP.NET Core 10 runtime   (Microsoft's "dotnet/aspnet:10.0"; the app is framework-dependent)
#
#   docker build --build-arg SDK_IMAGE=<registry>/dotnet/sdk:10.0 --build-arg RUNTIME_IMAGE=<registry>/dotnet/aspnet:10.0 -t modelserver .
#   docker run -p 127.0.0.1:8080:8080 -v modelserver-registry:/data/registry modelserver [--allow-anonymous-inference]
#
# The registry (SQLite database and model files) lives in the /data/registry volume; when it is empty the first start
# trains the Fashion-MNIST MLP on the bundled subset and registers it as fashion-mlp (alias production). Options after
# the image name are ModelServer's (see docs/serving.md). A CLI verb runs against the same volume with
#   docker run --rm -v modelserver-registry:/data/registry --entrypoint dotnet modelserver ModelServer.dll \
#     keys create --name web --scopes infer:fashion-mlp --registry /data/registry
ARG SDK_IMAGE
ARG RUNTIME_IMAGE

FROM ${SDK_IMAGE} AS build
WORKDIR /src
COPY . .
RUN dotnet publish samples/ModelServer -c Release -r linux-x64 --self-contained false -o /app

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=build /app .
VOLUME /data/registry
EXPOSE 8080
# Inside the container the server must listen on every interface for the published port to reach it.
ENTRYPOINT ["dotnet", "ModelServer.dll", "--urls", "http://0.0.0.0:8080", "--registry", "/data/registry"]
