-- create a coroutine, run it to its end and take its result, 2 million times
local function work(x) return x end
local i, s = 0, 0
while i < 2000000 do
    local _, r = coroutine.resume(coroutine.create(work), i)
    s = s + r
    i = i + 1
end
print(s)
