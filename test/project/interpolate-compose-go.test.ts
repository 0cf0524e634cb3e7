import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { interpolateString } from '../../src/project/interpolate.js';
import { FILE, loadError } from '../helpers/load.js';
import { loadProject } from '../../src/load/load.js';

// compose-go's own interpolation cases, as a table: every case of template/template_test.go and
// interpolation/interpolation_test.go that is about the text (not about Go hooks), from
// https://github.com/compose-spec/compose-go at commit e70e961c3a3acebf0800b882f1afb3dbf1fb74a2
// (Apache License 2.0). Each row: the template, the variables it sees, and what compose-go gives:
// the text, or an error containing the text its test expects.

/** template_test.go's `defaults`. */
const TEMPLATE_ENV: Record<string, string> = { FOO: 'first', BAR: '', JSON: '{"json":2}' };
/** interpolation_test.go's `defaults`. */
const INTERPOLATION_ENV: Record<string, string> = { USER: 'jenny', FOO: 'bar', count: '5', REQUIRED: 'true' };

interface Row { readonly test: string; readonly template: string; readonly env?: Record<string, string>; readonly expected?: string; readonly error?: string }

const template = (test: string, rows: [string, string][]): Row[] => rows.map(([text, expected]) => ({ test, template: text, expected }));
const templateError = (test: string, rows: [string, string][]): Row[] => rows.map(([text, error]) => ({ test, template: text, error }));

const TEMPLATE_ROWS: Row[] = [
  ...template('TestEscaped', [['$${foo}', '${foo}']]),
  ...template('TestSubstituteNoMatch', [['foo', 'foo']]),
  ...template('TestUnescaped', [['a $ string', 'a $ string'], ['^REGEX$', '^REGEX$'], ['$}', '$}'], ['$', '$']]),
  ...templateError('TestInvalid', [['${', 'invalid interpolation format'], ['${}', 'invalid interpolation format'], ['${ }', 'invalid interpolation format'],
    ['${ foo}', 'invalid interpolation format'], ['${foo }', 'invalid interpolation format'], ['${foo!}', 'invalid interpolation format']]),
  ...template('TestNonBraced', [['$FOO-bar', 'first-bar']]),
  ...template('TestNoValueNoDefault', [['This ${missing} var', 'This  var'], ['This ${BAR} var', 'This  var']]),
  ...template('TestValueNoDefault', [['This $FOO var', 'This first var'], ['This ${FOO} var', 'This first var']]),
  ...template('TestNoValueWithDefault', [['ok ${missing:-def}', 'ok def'], ['ok ${missing-def}', 'ok def']]),
  ...template('TestLazyDefaultDoesNotWarn', [['${A:+${A},}B', 'B']]),
  ...template('TestLazyDefaultWarnsWhenUsed', [['${A:-${B}}', '']]),
  ...template('TestEmptyValueWithSoftDefault', [['ok ${BAR:-def}', 'ok def']]),
  ...template('TestValueWithSoftDefault', [['ok ${FOO:-def}', 'ok first']]),
  ...template('TestEmptyValueWithHardDefault', [['ok ${BAR-def}', 'ok ']]),
  ...template('TestPresentValueWithUnset', [['ok ${UNSET_VAR:+presence_value}', 'ok ']]),
  ...template('TestPresentValueWithUnset2', [['ok ${UNSET_VAR+presence_value}', 'ok ']]),
  ...template('TestPresentValueWithNonEmpty', [['ok ${FOO:+presence_value}', 'ok presence_value']]),
  ...template('TestPresentValueAndNonEmptyWithNonEmpty', [['ok ${FOO+presence_value}', 'ok presence_value']]),
  ...template('TestPresentValueWithSet', [['ok ${BAR+presence_value}', 'ok presence_value']]),
  ...template('TestPresentValueAndNotEmptyWithSet', [['ok ${BAR:+presence_value}', 'ok ']]),
  ...template('TestNonAlphanumericDefault', [['ok ${BAR:-/non:-alphanumeric}', 'ok /non:-alphanumeric']]),
  ...template('TestInterpolationExternalInterference', [
    ['-ok ${BAR:-defaultValue}', '-ok defaultValue'], ['+ok ${UNSET:-${BAR-defaultValue}}', '+ok '], ['-ok ${FOO:-defaultValue}', '-ok first'],
    [':-ok ${UNSET-defaultValue}', ':-ok defaultValue'], [':-ok ${BAR-defaultValue}', ':-ok '], [':?ok ${BAR-defaultValue}', ':?ok '],
    [':?ok ${BAR:-defaultValue}', ':?ok defaultValue'], [':+ok ${BAR:-defaultValue}', ':+ok defaultValue'], ['+ok ${BAR-defaultValue}', '+ok '],
    ['?ok ${BAR:-defaultValue}', '?ok defaultValue'],
  ]),
  ...template('TestDefaultsWithNestedExpansion', [
    ['ok ${UNSET_VAR-$FOO}', 'ok first'], ['ok ${UNSET_VAR-${FOO}}', 'ok first'], ['ok ${UNSET_VAR-${FOO} ${FOO}}', 'ok first first'],
    ['ok ${BAR:-$FOO}', 'ok first'], ['ok ${BAR:-${FOO}}', 'ok first'], ['ok ${BAR:-${FOO} ${FOO}}', 'ok first first'],
    ['ok ${BAR+$FOO}', 'ok first'], ['ok ${BAR+$FOO ${FOO:+second}}', 'ok first second'],
  ]),
  ...templateError('TestMandatoryVariableErrors', [
    ['not ok ${UNSET_VAR:?Mandatory Variable Unset}', 'required variable UNSET_VAR is missing a value: Mandatory Variable Unset'],
    ['not ok ${BAR:?Mandatory Variable Empty}', 'required variable BAR is missing a value: Mandatory Variable Empty'],
    ['not ok ${UNSET_VAR:?}', 'required variable UNSET_VAR is missing a value'],
    ['not ok ${UNSET_VAR?Mandatory Variable Unset}', 'required variable UNSET_VAR is missing a value: Mandatory Variable Unset'],
    ['not ok ${UNSET_VAR?}', 'required variable UNSET_VAR is missing a value'],
  ]),
  ...templateError('TestMandatoryVariableErrorsWithNestedExpansion', [
    ['not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}', 'required variable UNSET_VAR is missing a value: Mandatory Variable first'],
    ['not ok ${UNSET_VAR?Mandatory Variable ${FOO}}', 'required variable UNSET_VAR is missing a value: Mandatory Variable first'],
  ]),
  ...template('TestDefaultsForMandatoryVariables', [['ok ${FOO:?err}', 'ok first'], ['ok ${FOO?err}', 'ok first'], ['ok ${BAR?err}', 'ok ']]),
  ...template('TestSubstituteWithReplacementFunc (default pattern)', [['ok ${SUBDOMAIN:-redis}.${FOO:?}', 'ok redis.first']]),
  ...templateError('TestPrecedence', [['${UNSET_VAR?bar-baz}', 'required variable UNSET_VAR is missing a value: bar-baz']]),
  ...template('TestPrecedence', [
    ['${UNSET_VAR-myerror?msg}', 'myerror?msg'], ['${FOO?bar-baz}', 'first'], ['${BAR:-default_value_for_empty_var}', 'default_value_for_empty_var'],
    ['${UNSET_VAR-default_value_for_unset_var}', 'default_value_for_unset_var'],
  ]),
  ...template('TestNoValueWithCurlyBracesDefault', [['ok ${missing:-{"json":1}}', 'ok {"json":1}'], ['ok ${missing-{"json":1}}', 'ok {"json":1}']]),
  ...template('TestValueWithCurlyBracesDefault', [['ok ${JSON:-{"json":1}}', 'ok {"json":2}'], ['ok ${JSON-{"json":1}}', 'ok {"json":2}']]),
  // TestSubstitutionFunctionChoice checks which operator is chosen; with VARNAME unset the choice shows
  // in the result: an error (:? ?), the default (:- -), or nothing (:+ +).
  ...templateError('TestSubstitutionFunctionChoice', [
    ['${VARNAME:?val?ue}', 'missing a value: val?ue'], ['${VARNAME?val:?ue}', 'missing a value: val:?ue'],
    ['${VARNAME?va-lu+e:?e}', 'missing a value: va-lu+e:?e'], ['${VARNAME?va+lu-e:?e}', 'missing a value: va+lu-e:?e'],
  ]),
  ...template('TestSubstitutionFunctionChoice', [
    ['${VARNAME:-value}', 'value'], ['${VARNAME-va:-lu:?e}', 'va:-lu:?e'], ['${VARNAME-va+lu?e}', 'va+lu?e'], ['${VARNAME-va?lu+e}', 'va?lu+e'],
    ['${VARNAME:+va:?lu:-e}', ''], ['${VARNAME+va:+lue}', ''], ['${VARNAME+va?lu-e}', ''], ['${VARNAME+va-lu?e}', ''],
  ]),
];

const unexistent = (rows: [string, string][]) => rows.map(([text, expected]): Row => ({ test: 'TestValidUnexistentInterpolation', template: text, env: {}, expected }));
const unexistentError = (rows: [string, string][]) => rows.map(([text, reason]): Row => ({ test: 'TestValidUnexistentInterpolation', template: text, env: {}, error: `required variable FOO is missing a value: ${reason}` }));
const existent = (rows: [string, string][]) => rows.map(([text, expected]): Row => ({ test: 'TestValidExistentInterpolation', template: text, env: INTERPOLATION_ENV, expected }));

const INTERPOLATION_ROWS: Row[] = [
  { test: 'TestInterpolate', template: 'example:${USER}', env: INTERPOLATION_ENV, expected: 'example:jenny' },
  { test: 'TestInterpolate', template: '$FOO:/target', env: INTERPOLATION_ENV, expected: 'bar:/target' },
  { test: 'TestInterpolate', template: '$USER', env: INTERPOLATION_ENV, expected: 'jenny' },
  { test: 'TestInvalidInterpolation', template: '${', env: INTERPOLATION_ENV, error: 'invalid interpolation format' },
  ...unexistent([
    ['{{{ ${FOO:-foo_} }}}', '{{{ foo_ }}}'], ['{{{ ${FOO:-foo-bar-value} }}}', '{{{ foo-bar-value }}}'], ['{{{ ${FOO:-foo?bar?value} }}}', '{{{ foo?bar?value }}}'],
    ['{{{ ${FOO:-foo:?bar:?value} }}}', '{{{ foo:?bar:?value }}}'], ['{{{ ${FOO:-foo} ${BAR:-DEFAULT_VALUE} }}}', '{{{ foo DEFAULT_VALUE }}}'],
    ['{{{ ${BAR} }}}', '{{{  }}}'], ['${FOO:-baz} }}}', 'baz }}}'], ['${FOO-baz} }}}', 'baz }}}'],
    ['${FOO:-${BAR:-${ZOT:-qix}}}', 'qix'], ['${FOO:-${BAR:-x}_test_${BAR:-y}}', 'x_test_y'], ['${FOO:-${BAR:-x}_test}', 'x_test'], ['${FOO:-${BAR:-${ZOT:-x}}_test}', 'x_test'],
  ]),
  ...unexistentError([
    ['{{{ ${FOO:?foo_} }}}', 'foo_'], ['{{{ ${FOO:?foo-bar-value} }}}', 'foo-bar-value'], ['{{{ ${FOO:?foo} ${BAR:-DEFAULT_VALUE} }}}', 'foo'],
    ['${FOO:?foo} ${BAR:?bar}', 'foo'], ['${FOO:?baz} }}}', 'baz'], ['${FOO?baz} }}}', 'baz'],
  ]),
  ...existent([
    ['{{{ ${FOO:-foo_} }}}', '{{{ bar }}}'], ['{{{ ${FOO:-foo-bar-value} }}}', '{{{ bar }}}'], ['{{{ ${FOO:-foo} ${BAR:-DEFAULT_VALUE} }}}', '{{{ bar DEFAULT_VALUE }}}'],
    ['{{{ ${BAR} }}}', '{{{  }}}'], ['${FOO:-baz} }}}', 'bar }}}'], ['${FOO-baz} }}}', 'bar }}}'],
    ['{{{ ${FOO:-foo} ${USER:-bar} }}}', '{{{ bar jenny }}}'], ['{{{ ${USER} }}}', '{{{ jenny }}}'],
  ]),
];

const table = suite('interpolation: compose-go\'s template and interpolation cases');

for (const row of [...TEMPLATE_ROWS, ...INTERPOLATION_ROWS]) {
  const env = row.env ?? TEMPLATE_ENV;
  table(`${row.test}: ${JSON.stringify(row.template)}`, () => {
    const run = () => interpolateString(row.template, (name) => (Object.hasOwn(env, name) ? env[name] : undefined));
    if (row.error === undefined) assert.is(run(), row.expected, `${row.template} gives what compose-go gives`);
    else assert.throws(run, (error: Error) => error.message.includes(row.error!), `${row.template} fails with "${row.error}"`);
  });
}

const inFiles = suite('interpolation errors in a compose file');

inFiles('a required variable names the file, line and column of the value, in compose\'s words', async () => {
  const error = await loadError(['services:', '  web:', '    image: "nginx:${TAG:?set the tag}"', ''].join('\n'));
  assert.match(error.toString(), /corral\.yaml:3:12: .*required variable TAG is missing a value: set the tag/, 'where and what');
  assert.match(error.hint, /TAG is not set/, 'whether it is unset or empty');
});

inFiles('an invalid template names its line and column', async () => {
  const error = await loadError(['services:', '  web:', '    image: nginx', '    command: ["echo", "${ oops}"]', ''].join('\n'));
  assert.match(error.toString(), /corral\.yaml:4:23: .*invalid interpolation format/, 'where and what');
});

inFiles('a $ that starts no variable stays as written, as in a shell command', async () => {
  const project = await loadProject({
    file: FILE, lookupEnv: () => undefined,
    readFile: async () => ['services:', '  web:', '    image: nginx', '    command: ["sh", "-c", "echo $(cat /etc/hostname) costs 5 $ ^x$"]', ''].join('\n'),
  });
  assert.equal(project.pods[0]!.containers[0]!.image?.command, ['sh', '-c', 'echo $(cat /etc/hostname) costs 5 $ ^x$'], 'the command as written');
});

table.run();
inFiles.run();
