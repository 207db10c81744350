// The generated client (test/generated-client) names the DOM type `BodyInit`; Node's types
// describe fetch bodies but do not declare that name globally without the DOM library.
type BodyInit = NonNullable<ConstructorParameters<typeof Response>[0]>;
