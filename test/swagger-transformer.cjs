// Runs the @nestjs/swagger CLI plugin inside ts-jest, so that tests see the same OpenAPI
// document as `nest build` produces. Options must match nest-cli.json.
const { before } = require('@nestjs/swagger/plugin');
const { plugins } = require('../nest-cli.json').compilerOptions;

const options = plugins.find((plugin) => plugin.name === '@nestjs/swagger').options;

module.exports = {
  name: 'nestjs-swagger-plugin',
  // ts-jest caches compiled files by this version: change it whenever the options change.
  version: JSON.stringify(options),
  factory: (compiler) => before(options, compiler.program),
};
