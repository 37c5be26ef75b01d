-- resume + yield of a coroutine, 10 million times
local co = coroutine.wrap(function()
    while true do coroutine.yield() end
end)
local i = 0
while i < 10000000 do
    co()
    i = i + 1
end
print(i)
