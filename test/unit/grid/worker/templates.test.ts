// fillCommand fills {name} from the input and names what is missing.
import { describe, expect, it } from 'vitest';
import { TemplateError } from '../../../../electron/grid/worker/errors.js';
import { fillCommand } from '../../../../electron/grid/worker/templates.js';

describe('fillCommand', () => {
  it('fills fields, several per argument, JSON for objects', () => {
    expect(
      fillCommand(['render', '--frame', '{frame}', 'f{frame}-{scene}.png', '{opts}'], {
        frame: 3,
        scene: 'a b',
        opts: { q: 1 },
      }),
    ).toEqual(['render', '--frame', '3', 'f3-a b.png', '{"q":1}']);
  });

  it('needs no object when nothing is templated', () => {
    expect(fillCommand(['true'], 5)).toEqual(['true']);
  });

  it('names a missing field and rejects a non-object input', () => {
    expect(() => fillCommand(['x', '{frame}'], { other: 1 })).toThrow(/no field "frame"/);
    expect(() => fillCommand(['x', '{frame}'], [1])).toThrow(TemplateError);
    expect(() => fillCommand([], {})).toThrow(/empty/);
  });
});
