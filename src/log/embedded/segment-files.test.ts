import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SegmentFiles } from './segment-files.js'

describe('segment files', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-segments-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const bytes = (text: string) => Buffer.from(text)

  it('appends payloads, reads them back from the file being written and from full ones, and rolls at the size', () => {
    const files = new SegmentFiles(dir, true, 10)
    const a = files.write(bytes('first'))
    const b = files.write(bytes('second')) // 5 + 6 > 10: a new file
    const c = files.write(bytes('a payload larger than a file')) // alone in a file of its own
    files.sync()
    expect([a, b, c]).toEqual([{ segment: 1, position: 0 }, { segment: 2, position: 0 }, { segment: 3, position: 0 }])
    expect(files.read(a, 5).toString()).toBe('first')
    expect(files.read(b, 6).toString()).toBe('second')
    expect(files.read({ segment: 3, position: 2 }, 7).toString()).toBe('payload')
    const d = files.write(bytes('!'))
    expect(d).toEqual({ segment: 4, position: 0 })
    expect(files.read(d, 1).toString()).toBe('!')
    expect(() => files.read(d, 2)).toThrow(/segment 4 ends before 2/)
    files.close()
    expect(readdirSync(dir).sort()).toEqual(['0000000000000001.seg', '0000000000000002.seg', '0000000000000003.seg',
      '0000000000000004.seg'])
  })

  it('starts a new file on every open, never writing after what an earlier process left', () => {
    const first = new SegmentFiles(dir, true)
    first.write(bytes('kept'))
    first.sync()
    first.close()
    const second = new SegmentFiles(dir, true)
    expect(second.write(bytes('next'))).toEqual({ segment: 2, position: 0 })
    second.sync()
    expect(second.read({ segment: 1, position: 0 }, 4).toString()).toBe('kept')
    second.close()
    expect(statSync(join(dir, '0000000000000001.seg')).size).toBe(4)
  })

  it('deletes the files nothing points at, but never the one being written', () => {
    const files = new SegmentFiles(dir, false, 4)
    for (const text of ['aaaa', 'bbbb', 'cccc', 'dddd']) files.write(bytes(text))
    files.sync()
    files.read({ segment: 2, position: 0 }, 4) // open for reading: deletion closes it
    expect(files.removeUnreferenced((segment) => segment === 3)).toBe(2)
    expect(files.list().sort()).toEqual([3, 4])
    expect(files.removeUnreferenced(() => false)).toBe(1)
    expect(files.list()).toEqual([4])
    expect(files.read({ segment: 4, position: 0 }, 4).toString()).toBe('dddd')
    files.close()
  })
})
